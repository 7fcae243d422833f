import Foundation

/// A safetensors file opened for reading (https://github.com/huggingface/safetensors, format version 0).
///
/// The layout is an 8-byte little-endian header length, a JSON header mapping tensor names to
/// `{dtype, shape, data_offsets}` (plus an optional `__metadata__` of strings), then the raw little-endian data.
/// The whole header is validated when the file is opened, with the reference implementation's rules (see
/// `parseHeader`), so a malformed or truncated file fails here with an error that names the file and the tensor.
/// Tensor data is read only when asked for: F32 with positioned reads straight into the tensor's storage (one copy
/// from the page cache, threaded), other types through a small per-thread buffer converted in C. Positioned reads
/// rather than a memory mapping: measured faster here (no page faults on the source side), and a file truncated
/// by another process while open gives a thrown error instead of a SIGBUS.
public struct SafeTensorsFile: @unchecked Sendable {
    /// The largest JSON header accepted (the reference implementation's limit).
    public static let maximumHeaderLength = 100_000_000

    /// Element types of the safetensors format (all those of the reference implementation, version 0.8).
    public enum DType: String, CaseIterable, Sendable {
        case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", i32 = "I32", u32 = "U32", i64 = "I64", u64 = "U64"
        case f16 = "F16", bf16 = "BF16", f32 = "F32", f64 = "F64", c64 = "C64"
        case f4 = "F4", f6e2m3 = "F6_E2M3", f6e3m2 = "F6_E3M2"
        case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", f8e8m0 = "F8_E8M0", f8e4m3fnuz = "F8_E4M3FNUZ", f8e5m2fnuz = "F8_E5M2FNUZ"

        /// Bits per element (4 and 6 for the packed sub-byte float formats).
        public var bitWidth: Int {
            switch self {
            case .f4: return 4
            case .f6e2m3, .f6e3m2: return 6
            case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz: return 8
            case .i16, .u16, .f16, .bf16: return 16
            case .i32, .u32, .f32: return 32
            case .i64, .u64, .f64, .c64: return 64
            }
        }
    }

    /// What the header says about one tensor.
    public struct Descriptor: Equatable, Sendable {
        /// Element type as stored.
        public let dtype: DType
        /// Dimensions, outermost first.
        public let shape: [Int]
        /// Byte range within the data section.
        public let byteRange: Range<Int>
        /// Number of elements (the product of `shape`).
        public var count: Int { shape.reduce(1, *) }
    }

    /// The file's path, used in every error message.
    public let path: String
    /// The `__metadata__` strings of the header (empty when absent).
    public let metadata: [String: String]
    /// Every tensor's descriptor, by name.
    public let descriptors: [String: Descriptor]
    let file: ReadOnlyFile
    /// Where the data section starts in the file.
    let dataOffset: Int

    /// The tensor names, sorted.
    public var tensorNames: [String] { descriptors.keys.sorted() }

    /// Opens the file at `url` and reads and validates its header.
    /// - Throws: ``SafeTensorsError`` naming the file (and tensor) for any I/O or format problem.
    public init(contentsOf url: URL) throws {
        let path = url.path
        let file = try ReadOnlyFile(path: path)
        guard file.size >= 8 else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "file is \(file.size) bytes, shorter than the 8-byte length prefix")
        }
        let headerLength = try file.bytes(count: 8, at: 0).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "header length \(headerLength) exceeds the \(Self.maximumHeaderLength)-byte limit")
        }
        guard Int(headerLength) <= file.size - 8 else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "header length \(headerLength) runs past the end of the \(file.size)-byte file (truncated?)")
        }
        let dataOffset = 8 + Int(headerLength)
        let header = try file.bytes(count: Int(headerLength), at: 8).withUnsafeBufferPointer {
            try Self.parseHeader($0, path: path, dataSize: file.size - dataOffset)
        }
        (self.path, self.file, self.dataOffset) = (path, file, dataOffset)
        (metadata, descriptors) = (header.metadata, header.descriptors)
    }

    /// Starts reading the whole data section into the page cache in the background (where the system allows and
    /// it fits in half of the free memory), for a caller about to read every tensor in an order of its own.
    public func prefetch() {
        file.prefetch(dataOffset ..< file.size)
    }

    /// The descriptor of `name`.
    /// - Throws: ``SafeTensorsError/tensorNotFound(path:tensor:)``.
    public func descriptor(_ name: String) throws -> Descriptor {
        guard let descriptor = descriptors[name] else { throw SafeTensorsError.tensorNotFound(path: path, tensor: name) }
        return descriptor
    }

    /// The tensor `name` as `Float`s, from F32, F16, BF16 or F64 storage (F64 rounds to nearest).
    /// - Throws: ``SafeTensorsError`` when it is missing, stored as another type, or cannot be read.
    public func tensor(_ name: String) throws -> Tensor {
        let descriptor = try descriptor(name)
        var tensor = Tensor(uninitialized: descriptor.shape)
        try tensor.withUnsafeMutableBufferPointer { try read(name, into: $0) }
        return tensor
    }

    /// Reads the tensor `name` as `Float`s (from F32, F16, BF16 or F64 storage) into `destination`, which must
    /// hold exactly its element count: for loaders that convert each weight and reuse one buffer for all of them.
    /// - Throws: ``SafeTensorsError`` when it is missing, stored as another type, of another element count, or
    ///   cannot be read.
    public func read(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let descriptor = try descriptor(name)
        guard [.f32, .f16, .bf16, .f64].contains(descriptor.dtype) else {
            throw SafeTensorsError.unsupportedDType(path: path, tensor: name, dtype: descriptor.dtype.rawValue, wanted: "float")
        }
        guard descriptor.count == destination.count else {
            throw SafeTensorsError.invalidTensor(path: path, tensor: name,
                                                 reason: "holds \(descriptor.count) elements, the destination \(destination.count)")
        }
        try reading(name) { try readFloats(descriptor, into: destination) }
    }

    /// The tensor `name` as integers, row-major, from I64, I32, I16, I8, U64, U32, U16, U8 or BOOL (0 or 1) storage.
    /// - Throws: ``SafeTensorsError`` when it is missing, stored as a floating-point type, holds a U64 value
    ///   larger than `Int.max`, or cannot be read.
    public func integers(_ name: String) throws -> [Int] {
        let descriptor = try descriptor(name)
        func integer<T: FixedWidthInteger>(_: T.Type) -> (UnsafeRawBufferPointer, Int) throws -> Int {
            { raw, index in
                let value = T(littleEndian: raw.loadUnaligned(fromByteOffset: MemoryLayout<T>.size * index, as: T.self))
                guard let integer = Int(exactly: value) else {
                    throw SafeTensorsError.invalidTensor(path: path, tensor: name, reason: "\(descriptor.dtype.rawValue) value \(value) at index \(index) does not fit in Int")
                }
                return integer
            }
        }
        let element: (UnsafeRawBufferPointer, Int) throws -> Int
        switch descriptor.dtype {
        case .i64: element = integer(Int64.self)
        case .i32: element = integer(Int32.self)
        case .i16: element = integer(Int16.self)
        case .i8: element = integer(Int8.self)
        case .u64: element = integer(UInt64.self)
        case .u32: element = integer(UInt32.self)
        case .u16: element = integer(UInt16.self)
        case .u8: element = integer(UInt8.self)
        case .bool: element = { raw, index in raw[index] == 0 ? 0 : 1 }
        default:
            throw SafeTensorsError.unsupportedDType(path: path, tensor: name, dtype: descriptor.dtype.rawValue, wanted: "integers")
        }
        let bytes = try reading(name) { try file.bytes(count: descriptor.byteRange.count, at: dataOffset + descriptor.byteRange.lowerBound) }
        return try bytes.withUnsafeBytes { raw in try (0..<descriptor.count).map { try element(raw, $0) } }
    }

    /// Runs `body`, turning a read failure into an error that names the tensor `name`.
    private func reading<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch SafeTensorsError.io(let path, let reason) {
            throw SafeTensorsError.invalidTensor(path: path, tensor: name, reason: reason)
        }
    }
}
