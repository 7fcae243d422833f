/// Byte-level BPE with CLIP's end-of-word marker: a word's UTF-8 bytes become printable stand-in characters
/// (GPT-2's `bytes_to_unicode`), the last one gets `</w>` appended, and adjacent pairs are merged lowest merge rank
/// first (leftmost first among equal ranks) until no ranked pair is left.
///
/// The merging follows the `tokenizers` library's `Word::merge_all` (what transformers 5's `CLIPTokenizer` runs):
/// symbols are integers in a linked list and the candidate pairs wait in a priority queue, so a word of n bytes
/// costs O(n log n), not the O(n²) of rescanning every pair after each merge (100 000 letters in one word took
/// 88 s that way). For a merge list where every merge's parts are made by earlier merges, as in every trained BPE,
/// this is also exactly the "merge every occurrence of the best pair, then look again" loop of CLIP's own code.
struct BytePairEncoding: Sendable {
    /// The marker appended to the last symbol of every word.
    static let endOfWord = "</w>"

    /// One merge rule: the left and right symbols it joins.
    struct Pair: Hashable, Sendable {
        let left: String
        let right: String
    }

    /// Every symbol a word can hold: indices 0..<256 are the single bytes, 256..<512 the single bytes with
    /// ``endOfWord``, the rest the sides and results of merges.
    private let symbolTexts: [String]
    /// For a pair of symbol indices packed as `left << 32 | right`: its merge rank and the merged symbol.
    private let merges: [UInt64: (rank: Int32, merged: Int32)]

    /// The merge rules in priority order (a repeated pair keeps its first rank).
    init(merges pairs: [Pair]) {
        var texts = (0..<256).map { String(Self.byteToScalar[$0]) }
        texts += texts.map { $0 + Self.endOfWord }
        var indices = Dictionary(texts.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { first, _ in first })
        func index(_ text: String) -> Int32 {
            if let index = indices[text] { return index }
            texts.append(text)
            indices[text] = Int32(texts.count - 1)
            return Int32(texts.count - 1)
        }
        var merges: [UInt64: (rank: Int32, merged: Int32)] = [:]
        merges.reserveCapacity(pairs.count)
        for (rank, pair) in pairs.enumerated() where rank < Int(Int32.max) {
            let key = Self.key(index(pair.left), index(pair.right))
            if merges[key] == nil { merges[key] = (Int32(rank), index(pair.left + pair.right)) }
        }
        symbolTexts = texts
        self.merges = merges
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// The BPE symbols of one pre-tokenised word.
    func symbols(of word: String) -> [String] {
        let bytes = Array(word.utf8)
        guard !bytes.isEmpty else { return [] }
        var symbols = bytes.map { Int32($0) }
        symbols[symbols.count - 1] += 256
        // A doubly linked list over the positions; a merged-away position has `alive` false.
        var previous = Array(-1..<(symbols.count - 1)).map(Int32.init)
        var next = Array(1...symbols.count).map(Int32.init)
        next[symbols.count - 1] = -1
        var alive = [Bool](repeating: true, count: symbols.count)
        // Candidate merges, smallest `rank << 32 | position` first; stale entries are skipped when popped.
        var queue = MinHeap()
        func push(_ position: Int32) {
            let right = next[Int(position)]
            guard right >= 0, let merge = merges[Self.key(symbols[Int(position)], symbols[Int(right)])] else { return }
            queue.push(UInt64(merge.rank) << 32 | UInt64(position))
        }
        for position in 0..<Int32(symbols.count - 1) { push(position) }
        while let top = queue.pop() {
            let position = Int(top & 0xFFFF_FFFF), rank = Int32(top >> 32)
            let right = Int(next[position])
            guard alive[position], right >= 0, let merge = merges[Self.key(symbols[position], symbols[right])],
                  merge.rank == rank else { continue }
            symbols[position] = merge.merged
            alive[right] = false
            next[position] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = Int32(position) }
            if previous[position] >= 0 { push(previous[position]) }
            push(Int32(position))
        }
        return symbols.indices.filter { alive[$0] }.map { symbolTexts[Int(symbols[$0])] }
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
