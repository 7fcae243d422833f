/// Byte-level BPE with CLIP's end-of-word marker: a word's UTF-8 bytes become printable stand-in characters
/// (GPT-2's `bytes_to_unicode`), the last one gets `</w>` appended, and the adjacent pair with the lowest merge
/// rank is merged (all its occurrences, left to right) until no ranked pair is left.
struct BytePairEncoding: Sendable {
    /// The marker appended to the last symbol of every word.
    static let endOfWord = "</w>"

    /// One merge rule: the left and right symbols it joins.
    struct Pair: Hashable, Sendable {
        let left: String
        let right: String
    }

    /// Merge rank by pair (lower merges first).
    private let ranks: [Pair: Int]

    /// The merge rules in priority order.
    init(merges: [Pair]) {
        var ranks: [Pair: Int] = [:]
        for (rank, pair) in merges.enumerated() where ranks[pair] == nil { ranks[pair] = rank }
        self.ranks = ranks
    }

    /// The BPE symbols of one pre-tokenised word.
    func symbols(of word: String) -> [String] {
        var symbols = word.utf8.map { String(Self.byteToScalar[Int($0)]) }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += Self.endOfWord
        while symbols.count > 1 {
            var best: (rank: Int, pair: Pair)?
            for i in 0..<symbols.count - 1 {
                let pair = Pair(left: symbols[i], right: symbols[i + 1])
                if let rank = ranks[pair], rank < best?.rank ?? .max { best = (rank, pair) }
            }
            guard let (_, pair) = best else { break }
            var merged: [String] = []
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count, symbols[i] == pair.left, symbols[i + 1] == pair.right {
                    merged.append(pair.left + pair.right)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        return symbols
    }

    /// The bytes in the order GPT-2's `bytes_to_unicode` lists them (printable Latin-1 first, then the rest),
    /// which is also the order of the first 256 tokens of CLIP's vocabulary.
    static let byteOrder: [UInt8] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        return (printable + (0..<256).filter { !printable.contains($0) }).map { UInt8($0) }
    }()

    /// GPT-2's `bytes_to_unicode`, indexed by byte: printable Latin-1 bytes stand for themselves, the other 68
    /// bytes (in ``byteOrder``) for U+0100 onwards.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (position, byte) in byteOrder.enumerated() {
            let isPrintable = position < 188
            // U+0100 + n for the n-th non-printable byte: two-byte scalars, all valid.
            table[Int(byte)] = isPrintable ? Unicode.Scalar(byte) : Unicode.Scalar(UInt16(256 + position - 188)) ?? " "
        }
        return table
    }()

    /// The inverse of ``byteToScalar``.
    static let scalarToByte: [Unicode.Scalar: UInt8] = Dictionary(
        uniqueKeysWithValues: byteToScalar.enumerated().map { ($1, UInt8($0)) })
}
