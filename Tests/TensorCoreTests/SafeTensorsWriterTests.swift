import XCTest
@testable import TensorCore

final class SafeTensorsWriterTests: XCTestCase {
    func testWriteThenReadGivesTheSameTensors() throws {
        let url = temporaryURL("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let x = try Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, .pi, -0.25])
        let odd = try Tensor(shape: [3], scalars: [.infinity, -0.0, .leastNonzeroMagnitude])
        let metadata = ["format": "pt", "quote\"back\\slash": "tab\tnewline\n\u{01}é✓"]
        try SafeTensors.write(entries: ["x": .float32(x), "odd": .float32(odd), "empty": .float32(Tensor(zeros: [0, 4])),
                                        "idx": .int64(shape: [3], values: [7, -1, 1 << 40]), "名前": .int64(shape: [], values: [5])],
                              to: url, metadata: metadata)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.tensorNames, ["empty", "idx", "odd", "x", "名前"])
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(try file.tensor("x"), x)
        XCTAssertEqual(try file.tensor("odd").scalars.map(\.bitPattern), odd.scalars.map(\.bitPattern))
        XCTAssertEqual(try file.tensor("empty").shape, [0, 4])
        XCTAssertEqual(try file.integers("idx"), [7, -1, 1 << 40])
        XCTAssertEqual(try file.integers("名前"), [5])
    }

    func testLayoutFollowsTheReferenceWriter() throws {
        // Larger elements first so every tensor stays aligned; the header padded with spaces to 8 bytes.
        let url = temporaryURL("layout.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(entries: ["a": .float32(Tensor(zeros: [3])), "b": .int64(shape: [1], values: [1])], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(try file.descriptor("b").byteRange, 0..<8)
        XCTAssertEqual(try file.descriptor("a").byteRange, 8..<20)
        let bytes = try Data(contentsOf: url)
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(bytes.count, 8 + headerLength + 20)
    }

    func testReplacesAtomicallyAndLeavesNoPartialFile() throws {
        let folder = temporaryURL("folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        try SafeTensors.write(["x": Tensor(zeros: [2])], to: url)
        try SafeTensors.write(["y": Tensor(zeros: [3])], to: url)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).tensorNames, ["y"])
        // A bad entry fails before anything is written; the previous file stays as it was.
        XCTAssertThrowsError(try SafeTensors.write(entries: ["z": .int64(shape: [2], values: [1])], to: url)) { error in
            XCTAssertEqual(error as? SafeTensorsError, .invalidTensor(path: url.path, tensor: "z", reason: "1 integers for shape [2]"))
        }
        XCTAssertThrowsError(try SafeTensors.write(["__metadata__": Tensor(zeros: [1])], to: url)) { error in
            XCTAssertEqual(error as? SafeTensorsError,
                           .invalidTensor(path: url.path, tensor: "__metadata__", reason: "'__metadata__' is reserved for the header's metadata"))
        }
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).tensorNames, ["y"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["model.safetensors"])
    }

    func testUnwritableDestinations() throws {
        let missingFolder = temporaryURL("no-such-folder").appendingPathComponent("x.safetensors")
        XCTAssertThrowsError(try SafeTensors.write(["x": Tensor(zeros: [1])], to: missingFolder)) { error in
            XCTAssertEqual(error as? OutputFileError, .cannotCreate(
                path: missingFolder.path, reason: "the folder \(missingFolder.deletingLastPathComponent().path) does not exist"))
        }
        // A private parent, so the leftover check below sees only this test's files (not other processes' in /tmp).
        let parent = temporaryURL("parent")
        let folder = parent.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("inner"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: parent) }
        XCTAssertThrowsError(try SafeTensors.write(["x": Tensor(zeros: [1])], to: folder)) { error in
            XCTAssertEqual(error as? OutputFileError, .notRegularFile(path: folder.path, kind: "a directory"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["inner"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent.path), ["occupied"],
                       "no temporary file left behind")
    }
}
