import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// - Throws: ``SafeTensorsError`` when a name is reserved or the file cannot be written.
    public static func write(_ tensors: [String: Tensor], to url: URL, metadata: [String: String] = [:]) throws {
        try write(entries: tensors.mapValues { .float32($0) }, to: url, metadata: metadata)
    }

    /// Writes `entries` to `url`, atomically: the data goes to a temporary file in the same folder, renamed over
    /// `url` once complete. The layout is the reference writer's: header padded with spaces to a multiple of 8
    /// bytes, tensors ordered by element size (largest first, so every tensor stays aligned) then by name.
    /// - Throws: ``SafeTensorsError`` when an entry is inconsistent or the file cannot be written.
    public static func write(entries: [String: Entry], to url: URL, metadata: [String: String] = [:]) throws {
        let path = url.path
        let planned = try entries.map { name, entry in try PlannedTensor(name: name, entry: entry, path: path) }
            .sorted { ($1.elementSize, $0.name) < ($0.elementSize, $1.name) }
        let header = headerJSON(planned, metadata: metadata)
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).partial")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else { throw SafeTensorsError.io(path: path, reason: "cannot create a file in \(folder.path): \(lastError())") }
        do {
            defer { close(descriptor) }
            try writeAll(descriptor, path) { write in
                try withUnsafeBytes(of: UInt64(header.count).littleEndian) { try write($0) }
                try header.withUnsafeBytes { try write($0) }
                for tensor in planned { try tensor.writeData(write) }
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
        guard rename(temporary.path, path) == 0 else {
            let reason = lastError()
            unlink(temporary.path)
            throw SafeTensorsError.io(path: path, reason: "cannot replace the file: \(reason)")
        }
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

    /// Calls `body` with a function that writes whole buffers to `descriptor`, retrying short and interrupted writes.
    private static func writeAll(_ descriptor: Int32, _ path: String,
                                 _ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try body { buffer in
            var done = 0
            while done < buffer.count {
                let written = systemWrite(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw SafeTensorsError.io(path: path, reason: "cannot write: \(lastError())") }
                done += written
            }
        }
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// POSIX `write(2)` (the name is taken inside ``SafeTensors``).
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, bytes, count) }
