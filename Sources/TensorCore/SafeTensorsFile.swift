import CKernels
import Foundation

/// A safetensors file opened for reading (https://github.com/huggingface/safetensors, format version 0).
///
/// The layout is an 8-byte little-endian header length, a JSON header mapping tensor names to
/// `{dtype, shape, data_offsets}` (plus an optional `__metadata__` of strings), then the raw little-endian data.
/// The whole header is validated when the file is opened — dtypes, shapes, byte counts, offsets in range and not
/// overlapping — so a malformed or truncated file fails here with an error that names the file and the tensor.
/// The data is memory-mapped; tensors are converted to `Float` only when asked for.
public struct SafeTensorsFile: @unchecked Sendable {
    /// The largest JSON header accepted (the reference implementation's limit is 100 MB).
    public static let maximumHeaderLength = 100_000_000

    /// Element types of the safetensors format, with their sizes.
    public enum DType: String, CaseIterable, Sendable {
        case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
        case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
        case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
            case .i16, .u16, .f16, .bf16: return 2
            case .i32, .u32, .f32: return 4
            case .f64, .i64, .u64: return 8
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
    }

    /// The file's path, used in every error message.
    public let path: String
    /// The `__metadata__` strings of the header (empty when absent).
    public let metadata: [String: String]
    /// Every tensor's descriptor, by name.
    public let descriptors: [String: Descriptor]
    private let mapping: MappedFile
    private let dataOffset: Int

    /// The tensor names, sorted.
    public var tensorNames: [String] { descriptors.keys.sorted() }

    /// Opens, maps and validates the file at `url`.
    /// - Throws: ``SafeTensorsError`` naming the file (and tensor) for any I/O or format problem.
    public init(contentsOf url: URL) throws {
        path = url.path
        mapping = try MappedFile(path: url.path)
        let bytes = mapping.bytes
        guard bytes.count >= 8 else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "file is \(bytes.count) bytes, shorter than the 8-byte length prefix")
        }
        var headerLength: UInt64 = 0
        for i in (0..<8).reversed() { headerLength = headerLength << 8 | UInt64(bytes[i]) }
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "header length \(headerLength) exceeds the \(Self.maximumHeaderLength)-byte limit")
        }
        guard Int(headerLength) <= bytes.count - 8 else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "header length \(headerLength) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
        dataOffset = 8 + Int(headerLength)
        let header = try Self.parseHeader(Data(bytes[8..<dataOffset]), path: path, dataSize: bytes.count - dataOffset)
        metadata = header.metadata
        descriptors = header.descriptors
    }

    /// The descriptor of `name`.
    /// - Throws: ``SafeTensorsError/tensorNotFound(path:tensor:)``.
    public func descriptor(_ name: String) throws -> Descriptor {
        guard let descriptor = descriptors[name] else { throw SafeTensorsError.tensorNotFound(path: path, tensor: name) }
        return descriptor
    }

    /// The tensor `name` as `Float`s (stored as F32, F16, BF16 or F64).
    /// - Throws: ``SafeTensorsError`` when it is missing or stored as another type.
    public func tensor(_ name: String) throws -> Tensor {
        let descriptor = try descriptor(name)
        guard [.f32, .f16, .bf16, .f64].contains(descriptor.dtype) else {
            throw SafeTensorsError.unsupportedDType(path: path, tensor: name, dtype: descriptor.dtype.rawValue, wanted: "float")
        }
        let count = descriptor.shape.reduce(1, *)
        var tensor = Tensor(uninitialized: descriptor.shape)
        let source = UnsafeRawPointer(mapping.bytes.baseAddress! + dataOffset + descriptor.byteRange.lowerBound)
        tensor.withUnsafeMutableBufferPointer { out in
            let destination = out.baseAddress!
            switch descriptor.dtype {
            case .f32: memcpy(destination, source, count * 4)
            case .f16: ck_f16_to_f32(source, destination, count)
            case .bf16: ck_bf16_to_f32(source, destination, count)
            case .f64:
                for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
            default: break  // excluded by the guard above
            }
        }
        return tensor
    }

    /// The tensor `name` as integers, row-major (stored as I64, I32, I16, I8, U8, U16 or U32).
    /// - Throws: ``SafeTensorsError`` when it is missing or stored as a floating-point type.
    public func integers(_ name: String) throws -> [Int] {
        let descriptor = try descriptor(name)
        let count = descriptor.shape.reduce(1, *)
        let source = UnsafeRawPointer(mapping.bytes.baseAddress! + dataOffset + descriptor.byteRange.lowerBound)
        switch descriptor.dtype {
        case .i64: return (0..<count).map { Int(Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
        case .i32: return (0..<count).map { Int(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        case .u32: return (0..<count).map { Int(UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        case .i16: return (0..<count).map { Int(Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
        case .u16: return (0..<count).map { Int(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        case .i8: return (0..<count).map { Int(source.load(fromByteOffset: $0, as: Int8.self)) }
        case .u8, .bool: return (0..<count).map { Int(source.load(fromByteOffset: $0, as: UInt8.self)) }
        default:
            throw SafeTensorsError.unsupportedDType(path: path, tensor: name, dtype: descriptor.dtype.rawValue, wanted: "integers")
        }
    }
}
