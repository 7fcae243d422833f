import Foundation

extension SafeTensorsFile {
    struct Header {
        var metadata: [String: String] = [:]
        var descriptors: [String: Descriptor] = [:]
    }

    /// Parses and validates the JSON header against a data section of `dataSize` bytes.
    static func parseHeader(_ json: Data, path: String, dataSize: Int) throws -> Header {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw SafeTensorsError.malformedHeader(path: path, reason: "header is not valid JSON (\(error.localizedDescription))")
        }
        guard let entries = object as? [String: Any] else {
            throw SafeTensorsError.malformedHeader(path: path, reason: "header is not a JSON object")
        }
        var header = Header()
        for (name, value) in entries {
            if name == "__metadata__" {
                guard let strings = value as? [String: String] else {
                    throw SafeTensorsError.malformedHeader(path: path, reason: "__metadata__ must map strings to strings")
                }
                header.metadata = strings
                continue
            }
            header.descriptors[name] = try parseDescriptor(value, name: name, path: path, dataSize: dataSize)
        }
        // Tensors may not share bytes (zero-sized tensors occupy none).
        let ranges = header.descriptors.filter { !$0.value.byteRange.isEmpty }
            .sorted { $0.value.byteRange.lowerBound < $1.value.byteRange.lowerBound }
        for (previous, next) in zip(ranges, ranges.dropFirst()) where next.value.byteRange.lowerBound < previous.value.byteRange.upperBound {
            throw SafeTensorsError.invalidTensor(path: path, tensor: next.key, reason: "data_offsets overlap those of '\(previous.key)'")
        }
        return header
    }

    private static func parseDescriptor(_ value: Any, name: String, path: String, dataSize: Int) throws -> Descriptor {
        func invalid(_ reason: String) -> SafeTensorsError { .invalidTensor(path: path, tensor: name, reason: reason) }
        guard let entry = value as? [String: Any] else { throw invalid("header entry is not a JSON object") }
        guard let dtypeName = entry["dtype"] as? String else { throw invalid("missing or non-string dtype") }
        guard let dtype = DType(rawValue: dtypeName) else { throw invalid("unknown dtype '\(dtypeName)'") }
        guard let shape = integerArray(entry["shape"]) else { throw invalid("shape must be an array of non-negative integers") }
        guard let offsets = integerArray(entry["data_offsets"]), offsets.count == 2 else {
            throw invalid("data_offsets must be two non-negative integers [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw invalid("data_offsets [\(begin), \(end)] end before they begin") }
        guard end <= dataSize else {
            throw invalid("data_offsets [\(begin), \(end)] run past the \(dataSize)-byte data section (truncated file?)")
        }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= dataSize else { throw invalid("shape \(shape) is larger than the file") }
            count = product
        }
        guard count * dtype.size == end - begin else {
            throw invalid("shape \(shape) of \(dtypeName) needs \(count * dtype.size) bytes, data_offsets give \(end - begin)")
        }
        return Descriptor(dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// `value` as an array of non-negative integers, or nil (floats, negatives, other types).
    private static func integerArray(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Int] = []
        for element in array {
            // JSON integers arrive as NSNumbers of an integer type; floats ("3.0") are "d", booleans "c".
            guard let number = element as? NSNumber,
                  "qlisQLIS".contains(String(cString: number.objCType)),
                  let integer = element as? Int, integer >= 0 else { return nil }
            result.append(integer)
        }
        return result
    }
}
