/// Builds length-limited canonical Huffman codes for the DEFLATE encoder.
enum HuffmanCodeBuilder {
    /// Code lengths (0 for unused symbols) for the given symbol frequencies, none longer than `limit`.
    /// A lone used symbol gets length 1. Over-long codes are avoided by halving the frequencies (keeping used
    /// symbols at least 1) and rebuilding, which flattens the tree until it fits.
    static func lengths(frequencies: [Int], limit: Int) -> [UInt8] {
        var weights = frequencies
        while true {
            let lengths = unlimitedLengths(weights)
            if (lengths.max() ?? 0) <= limit { return lengths }
            weights = weights.map { $0 == 0 ? 0 : max(1, $0 / 2) }
        }
    }

    /// Plain Huffman code lengths (two least frequent subtrees merged until one is left).
    private static func unlimitedLengths(_ frequencies: [Int]) -> [UInt8] {
        var lengths = [UInt8](repeating: 0, count: frequencies.count)
        let used = frequencies.indices.filter { frequencies[$0] > 0 }
        guard used.count > 1 else {
            for symbol in used { lengths[symbol] = 1 }
            return lengths
        }
        // Each subtree: total weight and its symbols (whose depth grows by one at each merge).
        var trees = used.map { (weight: frequencies[$0], symbols: [$0]) }
        while trees.count > 1 {
            trees.sort { $0.weight > $1.weight }
            let a = trees.removeLast(), b = trees.removeLast()
            for symbol in a.symbols + b.symbols { lengths[symbol] += 1 }
            trees.append((a.weight + b.weight, a.symbols + b.symbols))
        }
        return lengths
    }

    /// The canonical codes (RFC 1951 §3.2.2) of the given lengths, most significant bit first.
    static func codes(lengths: [UInt8]) -> [Int] {
        var counts = [Int](repeating: 0, count: 16)
        for length in lengths where length > 0 { counts[Int(length)] += 1 }
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for length in 1...15 {
            code = (code + counts[length - 1]) << 1
            next[length] = code
        }
        return lengths.map { length in
            guard length > 0 else { return 0 }
            defer { next[Int(length)] += 1 }
            return next[Int(length)]
        }
    }
}
