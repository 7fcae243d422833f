/// Greedy LZ77 matching for the DEFLATE encoder: 32 KiB window, matches of 3 to 258 bytes found through hash
/// chains of 3-byte prefixes.
enum LZ77 {
    /// A literal byte (`distance == 0`) or a copy of `length` bytes from `distance` bytes back.
    struct Token {
        let lengthOrLiteral: UInt16
        let distance: UInt16

        /// The number of input bytes the token stands for.
        var byteCount: Int { distance == 0 ? 1 : Int(lengthOrLiteral) }
    }

    private static let windowSize = 1 << 15
    static let minimumMatch = 3
    static let maximumMatch = 258
    /// How many earlier positions with the same 3-byte hash are tried per position (speed/size trade-off).
    private static let maximumChain = 48
    private static let hashBits = 15

    /// `data` as literals and back-references.
    static func tokens(_ data: [UInt8]) -> [Token] {
        var tokens: [Token] = []
        tokens.reserveCapacity(data.count / 2)
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        var previous = [Int32](repeating: -1, count: windowSize)
        func insert(_ index: Int) {
            guard index + minimumMatch <= data.count else { return }
            let hash = hashOf(data, at: index)
            previous[index & (windowSize - 1)] = head[hash]
            head[hash] = Int32(index)
        }
        var position = 0
        while position < data.count {
            let (length, distance) = longestMatch(in: data, at: position, head: head, previous: previous)
            if length >= minimumMatch {
                tokens.append(Token(lengthOrLiteral: UInt16(length), distance: UInt16(distance)))
                for index in position..<position + length { insert(index) }
                position += length
            } else {
                tokens.append(Token(lengthOrLiteral: UInt16(data[position]), distance: 0))
                insert(position)
                position += 1
            }
        }
        return tokens
    }

    private static func hashOf(_ data: [UInt8], at index: Int) -> Int {
        let key = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
        return Int((key &* 2_654_435_761) >> UInt32(32 - hashBits))
    }

    /// The longest earlier match (length, distance) for the bytes at `position`, or length 0.
    private static func longestMatch(in data: [UInt8], at position: Int, head: [Int32], previous: [Int32]) -> (Int, Int) {
        guard position + minimumMatch <= data.count else { return (0, 0) }
        let limit = min(maximumMatch, data.count - position)
        var candidate = Int(head[hashOf(data, at: position)])
        var best = 0, bestDistance = 0, tries = 0
        while candidate >= 0, position - candidate <= windowSize, tries < maximumChain {
            if data[candidate + best] == data[position + best] {
                var length = 0
                while length < limit, data[candidate + length] == data[position + length] { length += 1 }
                if length > best {
                    best = length
                    bestDistance = position - candidate
                    if length == limit { break }
                }
            }
            let next = Int(previous[candidate & (windowSize - 1)])
            guard next < candidate else { break }  // the slot was reused by a newer position
            candidate = next
            tries += 1
        }
        return (best, bestDistance)
    }
}
