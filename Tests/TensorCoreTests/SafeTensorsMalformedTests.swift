import XCTest
@testable import TensorCore

/// Every malformed file fails to open with an error that names the file, the tensor where one is involved,
/// and the problem. The rules are the reference implementation's (safetensors 0.8 rejects each of these too).
final class SafeTensorsMalformedTests: XCTestCase {
    private var created: [URL] = []

    override func tearDown() {
        for url in created { try? FileManager.default.removeItem(at: url) }
        created = []
    }

    /// Opens a file made of `header` (and `data`), expecting exactly `expected(path)`.
    private func assertRejected(header: String, data: [UInt8] = [], lengthPrefix: UInt64? = nil,
                                _ expected: (String) -> SafeTensorsError, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try MalformedFile.make(header: header, data: data, lengthPrefix: lengthPrefix)
        created.append(url)
        assertRejected(url, expected(url.path), file: file, line: line)
    }

    private func assertRejected(_ url: URL, _ expected: SafeTensorsError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: url), file: file, line: line) { error in
            XCTAssertEqual(error as? SafeTensorsError, expected, file: file, line: line)
            XCTAssertTrue("\(error)".hasPrefix(url.path), "the message names the file: \(error)", file: file, line: line)
        }
    }

    private func header(_ reason: String) -> (String) -> SafeTensorsError { { .malformedHeader(path: $0, reason: reason) } }
    private func tensor(_ name: String, _ reason: String) -> (String) -> SafeTensorsError {
        { .invalidTensor(path: $0, tensor: name, reason: reason) }
    }

    private let eightBytes = [UInt8](repeating: 0, count: 8)

    // MARK: The file and its length prefix

    func testMissingFileDirectoryAndEmptyFile() throws {
        let missing = temporaryURL("missing.safetensors")
        assertRejected(missing, .io(path: missing.path, reason: "cannot open: No such file or directory"))
        let folder = temporaryURL("folder.safetensors")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        created.append(folder)
        assertRejected(folder, .io(path: folder.path, reason: "is a directory, not a file"))
        for size in [0, 5] {
            let url = try MalformedFile.make(bytes: [UInt8](repeating: 0, count: size))
            created.append(url)
            assertRejected(url, .malformedHeader(path: url.path, reason: "file is \(size) bytes, shorter than the 8-byte length prefix"))
        }
    }

    func testHeaderLengthOverTheCapOrPastTheEnd() throws {
        try assertRejected(header: "{}", lengthPrefix: 100_000_001, header("header length 100000001 exceeds the 100000000-byte limit"))
        try assertRejected(header: "{}", lengthPrefix: .max, header("header length \(UInt64.max) exceeds the 100000000-byte limit"))
        try assertRejected(header: "{}", lengthPrefix: 3, header("header length 3 runs past the end of the 10-byte file (truncated?)"))
    }

    func testTruncatedFile() throws {
        // A valid file written by Python, cut short by one byte: the tensor stored last runs past the end.
        let original = fixtureURL("dtypes.safetensors")
        let last = try SafeTensorsFile(contentsOf: original).descriptors.max { $0.value.byteRange.upperBound < $1.value.byteRange.upperBound }!
        let bytes = try Data(contentsOf: original)
        let url = try MalformedFile.make(bytes: Array(bytes.dropLast()))
        created.append(url)
        let range = last.value.byteRange
        let dataSize = range.upperBound - 1
        assertRejected(url, .invalidTensor(path: url.path, tensor: last.key,
                                           reason: "data_offsets [\(range.lowerBound), \(range.upperBound)] run past the \(dataSize)-byte data section (truncated file?)"))
    }

    // MARK: The JSON

    func testHeaderThatIsNotJSON() throws {
        try assertRejected(header: "", header("header is not valid JSON: unexpected end of the text at byte 8"))
        try assertRejected(header: "{\"a\":", header("header is not valid JSON: unexpected end of the text at byte 13"))
        try assertRejected(header: "{} x", header("header is not valid JSON: unexpected characters after the JSON value at byte 11"))
        try assertRejected(header: "{}\0", header("header is not valid JSON: unexpected characters after the JSON value at byte 10"))
        try assertRejected(header: "{'a':1}", header("header is not valid JSON: expected a string key at byte 9"))
        try assertRejected(header: String(repeating: "[", count: 100), header("header is not valid JSON: nesting deeper than 64 levels at byte 72"))
        let badUTF8 = try MalformedFile.make(bytes: MalformedFile.littleEndian(6) + [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x7D])
        created.append(badUTF8)
        assertRejected(badUTF8, .malformedHeader(path: badUTF8.path, reason: "header is not valid JSON: invalid UTF-8 in a string at byte 13"))
    }

    func testHeaderThatIsNotAnObject() throws {
        try assertRejected(header: "[1, 2]", header("header is an array, not a JSON object"))
        try assertRejected(header: "\"F32\"", header("header is a string, not a JSON object"))
        try assertRejected(header: "null", header("header is null, not a JSON object"))
    }

    func testDuplicateKeys() throws {
        let entry = MalformedFile.entry(offsets: "[0,8]"), again = MalformedFile.entry(offsets: "[8,16]")
        try assertRejected(header: "{\(entry),\(again)}", data: eightBytes + eightBytes,
                           header("header is not valid JSON: duplicate key 't' at byte \(8 + 2 + entry.utf8.count)"))
        try assertRejected(header: "{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0],
                           header("header is not valid JSON: duplicate key 'dtype' at byte 28"))
    }

    func testMetadataThatIsNotStrings() throws {
        try assertRejected(header: "{\"__metadata__\":{\"a\":1}}", header("__metadata__ value of 'a' is the integer 1, not a string"))
        try assertRejected(header: "{\"__metadata__\":[\"a\"]}", header("__metadata__ is an array, not an object of strings"))
    }

    // MARK: One tensor's entry

    func testBadDTypes() throws {
        try assertRejected(header: "{\"t\":{\"dtype\":5,\"shape\":[2],\"data_offsets\":[0,8]}}", data: eightBytes,
                           tensor("t", "dtype is the integer 5, not a string"))
        try assertRejected(header: "{\(MalformedFile.entry(dtype: "F17"))}", data: eightBytes, tensor("t", "unknown dtype 'F17'"))
        try assertRejected(header: "{\(MalformedFile.entry(dtype: "f32"))}", data: eightBytes, tensor("t", "unknown dtype 'f32'"))
    }

    func testBadShapeEntries() throws {
        let cases: [(shape: String, reason: String)] = [
            ("[-1]", "shape holds the integer -1, not a non-negative integer"),
            ("[2.0]", "shape holds the number 2.0, not a non-negative integer"),
            ("[2e0]", "shape holds the number 2e0, not a non-negative integer"),
            ("[true]", "shape holds true, not a non-negative integer"),
            ("[null]", "shape holds null, not a non-negative integer"),
            ("[\"2\"]", "shape holds a string, not a non-negative integer"),
            ("[18446744073709551616]", "shape holds the number 18446744073709551616, not a non-negative integer"),
            ("2", "shape is the integer 2, not an array"),
            ("[4611686018427387904, 4]", "shape [4611686018427387904, 4] of F32 is too large to address"),
        ]
        for (shape, reason) in cases {
            try assertRejected(header: "{\(MalformedFile.entry(shape: shape))}", data: eightBytes, tensor("t", reason))
        }
    }

    func testMissingFieldsAndWrongEntryType() throws {
        try assertRejected(header: "{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", data: eightBytes, tensor("t", "header entry has no 'dtype'"))
        try assertRejected(header: "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", data: eightBytes, tensor("t", "header entry has no 'shape'"))
        try assertRejected(header: "{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", data: eightBytes, tensor("t", "header entry has no 'data_offsets'"))
        try assertRejected(header: "{\"t\":[1]}", tensor("t", "header entry is an array, not an object"))
    }

    func testByteCountMismatch() throws {
        try assertRejected(header: "{\(MalformedFile.entry(shape: "[3]"))}", data: eightBytes,
                           tensor("t", "shape [3] of F32 needs 12 bytes, data_offsets [0, 8] hold 8"))
        try assertRejected(header: "{\(MalformedFile.entry(dtype: "F4", shape: "[3]", offsets: "[0,2]"))}", data: [0, 0],
                           tensor("t", "shape [3] of F4 does not fill whole bytes"))
    }

    func testBadOffsets() throws {
        try assertRejected(header: "{\(MalformedFile.entry(offsets: "[8,0]"))}", data: eightBytes,
                           tensor("t", "data_offsets [8, 0] end before they begin"))
        try assertRejected(header: "{\(MalformedFile.entry(offsets: "[0,8,16]"))}", data: eightBytes,
                           tensor("t", "data_offsets has 3 entries, not [begin, end]"))
        try assertRejected(header: "{\(MalformedFile.entry(offsets: "[-8,0]"))}", data: eightBytes,
                           tensor("t", "data_offsets holds the integer -8, not a non-negative integer"))
        try assertRejected(header: "{\(MalformedFile.entry(offsets: "[0,8]"))}", data: [0, 0, 0, 0],
                           tensor("t", "data_offsets [0, 8] run past the 4-byte data section (truncated file?)"))
        try assertRejected(header: "{\(MalformedFile.entry(offsets: "[4,12]"))}", data: eightBytes + [0, 0, 0, 0],
                           tensor("t", "data_offsets [4, 12] leave bytes 0..<4 unused"))
        try assertRejected(header: "{\(MalformedFile.entry(offsets: "[0,8]"))}", data: eightBytes + [0, 0, 0, 0],
                           header("the tensors cover 8 of the 12 bytes after the header"))
    }

    func testOverlappingTensors() throws {
        let a = MalformedFile.entry("a", offsets: "[0,8]"), b = MalformedFile.entry("b", offsets: "[4,12]")
        try assertRejected(header: "{\(a),\(b)}", data: eightBytes + [0, 0, 0, 0],
                           tensor("b", "data_offsets [4, 12] overlap those of 'a', which end at 8"))
        let same = MalformedFile.entry("c", offsets: "[0,8]")
        try assertRejected(header: "{\(a),\(same)}", data: eightBytes, tensor("c", "data_offsets [0, 8] overlap those of 'a', which end at 8"))
    }
}
