import Foundation

/// Builds safetensors files byte by byte, for the bad-input tests.
enum MalformedFile {
    /// Writes `lengthPrefix` (by default the header's length), the header text and `data` to a fresh temporary file.
    static func make(header: String, data: [UInt8] = [], lengthPrefix: UInt64? = nil) throws -> URL {
        let headerBytes = Array(header.utf8)
        return try make(bytes: littleEndian(lengthPrefix ?? UInt64(headerBytes.count)) + headerBytes + data)
    }

    /// Writes `bytes` to a fresh temporary file.
    static func make(bytes: [UInt8]) throws -> URL {
        let url = temporaryURL("malformed.safetensors")
        try Data(bytes).write(to: url)
        return url
    }

    static func littleEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// A one-tensor header entry.
    static func entry(_ name: String = "t", dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
    }
}
