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
    /// - Throws: ``SafeTensorsError`` when a name is reserved; ``OutputFileError`` when `url` is refused (see
    ///   ``OutputFile``) or cannot be written.
    public static func write(_ tensors: [String: Tensor], to url: URL, metadata: [String: String] = [:]) throws {
        try write(entries: tensors.mapValues { .float32($0) }, to: url, metadata: metadata)
    }

    /// Writes `entries` to `url` through an ``OutputFile``: the file appears complete or not at all, and never
    /// replaces anything but a regular file. The layout is the reference writer's: header padded with spaces to a
    /// multiple of 8 bytes, tensors ordered by element size (largest first, so every tensor stays aligned) then
    /// by name.
    /// - Throws: ``SafeTensorsError`` when an entry is inconsistent (before anything is created);
    ///   ``OutputFileError`` when `url` is refused or cannot be written.
    public static func write(entries: [String: Entry], to url: URL, metadata: [String: String] = [:]) throws {
        let planned = try plan(entries, path: url.path)
        let file = try OutputFile.prepare(path: url.path)
        try write(planned, into: file, metadata: metadata)
        try file.commit()
    }

    /// Writes float tensors (as F32) into `file`, prepared by the caller, who commits it (with the run's other
    /// outputs, say).
    /// - Throws: ``SafeTensorsError`` when a name is reserved; ``OutputFileError`` when writing fails.
    public static func write(_ tensors: [String: Tensor], into file: OutputFile, metadata: [String: String] = [:]) throws {
        try write(try plan(tensors.mapValues { .float32($0) }, path: file.path), into: file, metadata: metadata)
    }

    /// The entries checked and in file order.
    private static func plan(_ entries: [String: Entry], path: String) throws -> [PlannedTensor] {
        try entries.map { name, entry in try PlannedTensor(name: name, entry: entry, path: path) }
            .sorted { ($1.elementSize, $0.name) < ($0.elementSize, $1.name) }
    }

    /// Writes the header and the data of `planned` into `file`.
    private static func write(_ planned: [PlannedTensor], into file: OutputFile, metadata: [String: String]) throws {
        let header = headerJSON(planned, metadata: metadata)
        try withUnsafeBytes(of: UInt64(header.count).littleEndian) { try file.write($0) }
        try file.write(header)
        for tensor in planned { try tensor.writeData { try file.write($0) } }
    }

    /// One entry, checked and ready to be written.
    private struct PlannedTensor {
        let name: String
        let dtype: String
        let shape: [Int]
        let elementSize: Int
        let byteCount: Int
        /// Hands the tensor's bytes, in one or more buffers, to `sink`.
        let writeData: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void

        init(name: String, entry: Entry, path: String) throws {
            guard name != "__metadata__" else {
                throw SafeTensorsError.invalidTensor(path: path, tensor: name, reason: "'__metadata__' is reserved for the header's metadata")
            }
            self.name = name
            switch entry {
            case .float32(let tensor):
                (dtype, shape, elementSize) = ("F32", tensor.shape, 4)
                writeData = { sink in try tensor.withUnsafeBufferPointer { try sink(UnsafeRawBufferPointer($0)) } }
            case let .int64(shape, values):
                guard !shape.contains(where: { $0 < 0 }), shape.reduce(1, *) == values.count else {
                    throw SafeTensorsError.invalidTensor(path: path, tensor: name, reason: "\(values.count) integers for shape \(shape)")
                }
                (dtype, self.shape, elementSize) = ("I64", shape, 8)
                let littleEndian = values.map { Int64($0).littleEndian }
                writeData = { sink in try littleEndian.withUnsafeBytes { try sink($0) } }
            }
            byteCount = shape.reduce(1, *) * elementSize
        }
    }

    /// The header: metadata first, then the tensors in file order, padded with spaces to a multiple of 8 bytes.
    private static func headerJSON(_ tensors: [PlannedTensor], metadata: [String: String]) -> [UInt8] {
        var members: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(quoted($0.value))" }
            members.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in tensors {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            members.append("\(quoted(tensor.name)):{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.byteCount)]}")
            offset += tensor.byteCount
        }
        var json = Array("{\(members.joined(separator: ","))}".utf8)
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        return json
    }

    /// `text` as a JSON string literal.
    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
