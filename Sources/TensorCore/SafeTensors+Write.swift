import Foundation

/// Writing safetensors files.
public enum SafeTensors {
    /// One tensor to write: `Float` data stored as F32, or integers stored as I64.
    public enum Entry: Sendable {
        /// A float tensor, written as F32.
        case float32(Tensor)
        /// Integers with a shape, written as I64.
        case int64(shape: [Int], values: [Int])
    }

    /// Writes float tensors (as F32) to `url`, atomically: the file appears complete or not at all.
    /// - Throws: ``SafeTensorsError/io(path:reason:)`` when the file cannot be written.
    public static func write(_ tensors: [String: Tensor], to url: URL, metadata: [String: String] = [:]) throws {
        try write(entries: tensors.mapValues { .float32($0) }, to: url, metadata: metadata)
    }

    /// Writes `entries` to `url`, atomically, tensors in name order.
    /// - Throws: ``SafeTensorsError`` when an entry is inconsistent or the file cannot be written.
    public static func write(entries: [String: Entry], to url: URL, metadata: [String: String] = [:]) throws {
        let path = url.path
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var payload = Data()
        for name in entries.keys.sorted() {
            guard name != "__metadata__" else {
                throw SafeTensorsError.invalidTensor(path: path, tensor: name, reason: "'__metadata__' is reserved")
            }
            let begin = payload.count
            let dtype: String
            let shape: [Int]
            switch entries[name]! {
            case .float32(let tensor):
                (dtype, shape) = ("F32", tensor.shape)
                tensor.withUnsafeBufferPointer { payload.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
            case let .int64(entryShape, values):
                guard entryShape.reduce(1, *) == values.count, !entryShape.contains(where: { $0 < 0 }) else {
                    throw SafeTensorsError.invalidTensor(path: path, tensor: name, reason: "\(values.count) integers for shape \(entryShape)")
                }
                (dtype, shape) = ("I64", entryShape)
                values.map { Int64($0).littleEndian }.withUnsafeBufferPointer { payload.append($0) }
            }
            header[name] = ["dtype": dtype, "shape": shape, "data_offsets": [begin, payload.count]] as [String: Any]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(payload)
        do {
            try file.write(to: url, options: .atomic)
        } catch {
            throw SafeTensorsError.io(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
