/// Constants and helpers shared by the PNG writer and reader (8-bit RGB, non-interlaced).
enum PNG {
    /// The 8-byte file signature.
    static let signature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
    /// Colour type 2: truecolour RGB.
    static let colorTypeRGB: UInt8 = 2
    /// The largest image (in raw bytes) the reader accepts, so a hostile header cannot demand unbounded memory.
    static let maximumRawBytes = 1 << 30

    /// The five scanline filters of the PNG specification (§9.2).
    enum Filter: UInt8, CaseIterable {
        case none = 0, sub, up, average, paeth
    }

    /// The Paeth predictor: whichever of left, up, upper-left is closest to `left + up - upperLeft`.
    static func paeth(_ left: UInt8, _ up: UInt8, _ upperLeft: UInt8) -> UInt8 {
        let estimate = Int(left) + Int(up) - Int(upperLeft)
        let toLeft = abs(estimate - Int(left)), toUp = abs(estimate - Int(up)), toUpperLeft = abs(estimate - Int(upperLeft))
        if toLeft <= toUp && toLeft <= toUpperLeft { return left }
        return toUp <= toUpperLeft ? up : upperLeft
    }

    /// The predictor of `filter` for byte `index` of a row (`bytesPerPixel` back is "left").
    static func prediction(_ filter: Filter, row: UnsafeBufferPointer<UInt8>, previous: UnsafeBufferPointer<UInt8>,
                           index: Int, bytesPerPixel: Int) -> UInt8 {
        let left = index >= bytesPerPixel ? row[index - bytesPerPixel] : 0
        let up = previous[index]
        switch filter {
        case .none: return 0
        case .sub: return left
        case .up: return up
        case .average: return UInt8((Int(left) + Int(up)) / 2)
        case .paeth: return paeth(left, up, index >= bytesPerPixel ? previous[index - bytesPerPixel] : 0)
        }
    }

    /// A big-endian 32-bit field.
    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
}
