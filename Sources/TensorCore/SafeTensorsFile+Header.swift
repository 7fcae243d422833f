extension SafeTensorsFile {
    /// The validated contents of a header.
    struct Header {
        var metadata: [String: String] = [:]
        var descriptors: [String: Descriptor] = [:]
    }

    /// Parses and validates the JSON header (`bytes`, already checked to be UTF-8) against a data section of
    /// `dataSize` bytes, with the rules of the reference implementation: known dtypes, shapes and offsets of
    /// non-negative integers, byte counts that match, and tensors that tile the data section exactly, in offset
    /// order, with no gap, overlap or trailing bytes.
    static func parseHeader(_ bytes: UnsafeBufferPointer<UInt8>, path: String, dataSize: Int) throws -> Header {
        let json: StrictJSON
        do {
            json = try StrictJSON.parse(bytes)
        } catch let error as StrictJSON.ParseError {
            throw SafeTensorsError.malformedHeader(path: path, reason: "header is not valid JSON: \(error.message) at byte \(8 + error.offset)")
        }
        guard case .object(let entries) = json else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "header is \(json.kind), not a JSON object")
        }
        var header = Header()
        for (name, value) in entries {
            if name == "__metadata__" {
                header.metadata = try parseMetadata(value, path: path)
            } else {
                header.descriptors[name] = try parseDescriptor(value, name: name, path: path)
            }
        }
        try checkLayout(header.descriptors, path: path, dataSize: dataSize)
        return header
    }

    private static func parseMetadata(_ value: StrictJSON, path: String) throws -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var metadata: [String: String] = [:]
            for (key, value) in members {
                guard case .string(let text) = value else {
                    throw SafeTensorsError.malformedHeader(path: path, reason: "__metadata__ value of '\(key)' is \(value.kind), not a string")
                }
                metadata[key] = text
            }
            return metadata
        default:
            throw SafeTensorsError.malformedHeader(path: path, reason: "__metadata__ is \(value.kind), not an object of strings")
        }
    }

    private static func parseDescriptor(_ value: StrictJSON, name: String, path: String) throws -> Descriptor {
        func invalid(_ reason: String) -> SafeTensorsError { .invalidTensor(path: path, tensor: name, reason: reason) }
        guard case .object(let members) = value else { throw invalid("header entry is \(value.kind), not an object") }
        func field(_ key: String) throws -> StrictJSON {
            guard let member = members.first(where: { $0.key == key }) else { throw invalid("header entry has no '\(key)'") }
            return member.value
        }
        // Keys other than these three are ignored, as the reference implementation does.
        guard case .string(let dtypeName) = try field("dtype") else { throw invalid("dtype is \(try field("dtype").kind), not a string") }
        guard let dtype = DType(rawValue: dtypeName) else { throw invalid("unknown dtype '\(dtypeName)'") }
        let shape = try naturals(try field("shape"), "shape", invalid)
        let offsets = try naturals(try field("data_offsets"), "data_offsets", invalid)
        guard offsets.count == 2 else { throw invalid("data_offsets has \(offsets.count) entries, not [begin, end]") }
        guard offsets[0] <= offsets[1] else { throw invalid("data_offsets \(offsets) end before they begin") }

        var bits = dtype.bitWidth
        for dimension in shape {
            let (product, overflow) = bits.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw invalid("shape \(shape) of \(dtypeName) is too large to address") }
            bits = product
        }
        guard bits % 8 == 0 else { throw invalid("shape \(shape) of \(dtypeName) does not fill whole bytes") }
        guard bits / 8 == offsets[1] - offsets[0] else {
            throw invalid("shape \(shape) of \(dtypeName) needs \(bits / 8) bytes, data_offsets \(offsets) hold \(offsets[1] - offsets[0])")
        }
        return Descriptor(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
    }

    /// The elements of a JSON array of non-negative integers, or an error naming `field` and the offending entry.
    private static func naturals(_ value: StrictJSON, _ field: String, _ invalid: (String) -> SafeTensorsError) throws -> [Int] {
        guard case .array(let elements) = value else { throw invalid("\(field) is \(value.kind), not an array") }
        return try elements.map { element in
            guard case .integer(let integer) = element, integer >= 0 else {
                throw invalid("\(field) holds \(element.kind), not a non-negative integer")
            }
            return integer
        }
    }

    /// Checks that the tensors, in offset order, tile `0..<dataSize` exactly.
    private static func checkLayout(_ descriptors: [String: Descriptor], path: String, dataSize: Int) throws {
        let ordered = descriptors.sorted {
            ($0.value.byteRange.lowerBound, $0.value.byteRange.upperBound, $0.key) < ($1.value.byteRange.lowerBound, $1.value.byteRange.upperBound, $1.key)
        }
        var end = 0
        var previous: String?
        for (name, descriptor) in ordered {
            let range = descriptor.byteRange
            func invalid(_ reason: String) -> SafeTensorsError { .invalidTensor(path: path, tensor: name, reason: reason) }
            guard range.upperBound <= dataSize else {
                throw invalid("data_offsets [\(range.lowerBound), \(range.upperBound)] run past the \(dataSize)-byte data section (truncated file?)")
            }
            if range.lowerBound < end, let previous {
                throw invalid("data_offsets [\(range.lowerBound), \(range.upperBound)] overlap those of '\(previous)', which end at \(end)")
            }
            guard range.lowerBound == end else {
                throw invalid("data_offsets [\(range.lowerBound), \(range.upperBound)] leave bytes \(end)..<\(range.lowerBound) unused")
            }
            (end, previous) = (range.upperBound, name)
        }
        guard end == dataSize else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "the tensors cover \(end) of the \(dataSize) bytes after the header")
        }
    }
}
