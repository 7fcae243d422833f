import Foundation
import XCTest
@testable import TensorCore

/// ``OutputFile``: what it refuses (and that a refusal leaves every file as it was and no temporary file), how it
/// writes (nothing visible until the commit, then the whole file), and that the named fallback can be cleaned up
/// by a signal handler.
final class OutputFileTests: XCTestCase {
    override func tearDown() {
        OutputFile.unnamedTemporaryFilesAllowed = true
        super.tearDown()
    }

    func testWritesNothingVisibleUntilTheCommit() throws {
        let folder = try TestFolder(self)
        let path = try folder.write("out.bin", "old")
        let file = try OutputFile.prepare(path: path)
        try file.write(Array("new content".utf8))
        #if os(Linux)
        XCTAssertEqual(try folder.listing(), ["out.bin"], "an unnamed temporary file until the commit")
        #endif
        XCTAssertEqual(TestFolder.bytes(path), Data("old".utf8))
        try file.commit()
        XCTAssertEqual(TestFolder.bytes(path), Data("new content".utf8))
        XCTAssertEqual(try folder.listing(), ["out.bin"])
        XCTAssertThrowsError(try file.write([1])) { error in
            XCTAssertEqual(error as? OutputFileError, .writeFailed(path: path, reason: "already committed or discarded"))
        }
    }

    func testDiscardLeavesTheOldFile() throws {
        let folder = try TestFolder(self)
        let path = try folder.write("out.bin", "old")
        for unnamed in [true, false] {
            OutputFile.unnamedTemporaryFilesAllowed = unnamed
            let file = try OutputFile.prepare(path: path)
            try file.write(Array("partial".utf8))
            file.discard()
            XCTAssertEqual(TestFolder.bytes(path), Data("old".utf8))
            XCTAssertEqual(try folder.listing(), ["out.bin"], "unnamed: \(unnamed)")
        }
        // Releasing an uncommitted file discards it too.
        OutputFile.unnamedTemporaryFilesAllowed = false
        try { () throws in
            let file = try OutputFile.prepare(path: folder.file("new.bin"))
            try file.write([1, 2, 3])
        }()
        XCTAssertEqual(try folder.listing(), ["out.bin"])
    }

    func testKeepsThePermissionsOfTheFileItReplaces() throws {
        let folder = try TestFolder(self)
        let path = try folder.write("private.bin", "old")
        chmod(path, 0o600)
        try OutputFile.write(Array("new".utf8), toPath: path)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int, 0o600)
    }

    func testRefusesWhatIsNotARegularFile() throws {
        let folder = try TestFolder(self)
        let target = try folder.write("target.bin", "keep me")
        try FileManager.default.createSymbolicLink(atPath: folder.file("link"), withDestinationPath: target)
        try FileManager.default.createSymbolicLink(atPath: folder.file("dangling"), withDestinationPath: folder.file("nowhere"))
        try FileManager.default.createDirectory(atPath: folder.file("sub"), withIntermediateDirectories: false)
        let fifo = try folder.fifo("fifo")
        let socket = try folder.socket("socket")
        let device = folder.characterDevice("null")
        let cases: [(String, OutputFileError)] = [
            (device, .notRegularFile(path: device, kind: "a character device")),
            (fifo, .notRegularFile(path: fifo, kind: "a FIFO (named pipe)")),
            (socket, .notRegularFile(path: socket, kind: "a socket")),
            (folder.file("sub"), .notRegularFile(path: folder.file("sub"), kind: "a directory")),
            (folder.file("sub") + "/", .notRegularFile(path: folder.file("sub") + "/", kind: "a directory")),
            (folder.file("link"), .symbolicLink(path: folder.file("link"), target: target)),
            (folder.file("dangling"), .symbolicLink(path: folder.file("dangling"), target: folder.file("nowhere"))),
            (folder.file("missing/out.bin"), .cannotCreate(path: folder.file("missing/out.bin"),
                                                           reason: "the folder \(folder.file("missing")) does not exist")),
            (target + "/out.bin", .cannotCreate(path: target + "/out.bin", reason: "\(target) is not a folder")),
            ("", .cannotCreate(path: "", reason: "the path is empty")),
            (folder.file(String(repeating: "n", count: 256)),
             .cannotCreate(path: folder.file(String(repeating: "n", count: 256)), reason: "File name too long")),
        ]
        for (path, expected) in cases {
            XCTAssertThrowsError(try OutputFile.write([1, 2, 3], toPath: path), path) { error in
                XCTAssertEqual(error as? OutputFileError, expected)
                XCTAssertEqual((error as? OutputFileError)?.isRefusal, true)
            }
        }
        XCTAssertEqual(TestFolder.bytes(target), Data("keep me".utf8))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: folder.file("link")), target)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: folder.file("dangling")), folder.file("nowhere"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("nowhere")))
        XCTAssertEqual(try folder.listing().filter { $0 != "null" }, ["dangling", "fifo", "link", "socket", "sub", "target.bin"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.file("sub")), [])
        var info = stat()
        XCTAssertEqual(stat(device, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "\(device) is still a device")
    }

    func testRefusesAnInputHoweverItIsSpelled() throws {
        let folder = try TestFolder(self)
        let input = try folder.write("input.bin", "input")
        XCTAssertEqual(link(input, folder.file("hard-link")), 0)
        try FileManager.default.createSymbolicLink(atPath: folder.file("alias"), withDestinationPath: folder.path)
        let spellings = [input, folder.path + "/./input.bin", folder.path + "/../" + URL(fileURLWithPath: folder.path).lastPathComponent + "/input.bin",
                         folder.file("hard-link"), folder.file("alias/input.bin")]
        for spelling in spellings {
            XCTAssertThrowsError(try OutputFile.prepare(path: spelling, inputs: [input]), spelling) { error in
                XCTAssertEqual(error as? OutputFileError, .sameFileAsInput(path: spelling, input: input))
            }
        }
        // Through a symbolic link to the input, named as the input: refused too.
        let viaLink = try folder.write("link-input-target.bin", "x")
        XCTAssertThrowsError(try OutputFile.prepare(path: viaLink, inputs: [folder.file("alias/link-input-target.bin")]))
        XCTAssertEqual(TestFolder.bytes(input), Data("input".utf8))
        XCTAssertEqual(try folder.listing(), ["alias", "hard-link", "input.bin", "link-input-target.bin"])
        // Another file is fine.
        XCTAssertNoThrow(try OutputFile.write([1], toPath: folder.file("other.bin"), inputs: [input]))
    }

    func testAFolderInputStandsForItsFiles() throws {
        let model = try TestFolder(self)
        try FileManager.default.createDirectory(atPath: model.file("unet"), withIntermediateDirectories: false)
        let weights = try model.write("unet/diffusion_pytorch_model.safetensors", "weights")
        let index = try model.write("model_index.json", "{}")
        for path in [weights, index] {
            XCTAssertThrowsError(try OutputFile.prepare(path: path, inputs: [model.path]), path) { error in
                XCTAssertEqual(error as? OutputFileError, .sameFileAsInput(path: path, input: path))
            }
        }
        XCTAssertEqual(TestFolder.bytes(weights), Data("weights".utf8))
        XCTAssertNoThrow(try OutputFile.write([1], toPath: model.file("unet/new.bin"), inputs: [model.path]))
    }

    func testTwoOutputsMustBeTwoFiles() throws {
        let folder = try TestFolder(self)
        let first = try OutputFile.prepare(path: folder.file("a.bin"))
        for other in [folder.file("a.bin"), folder.path + "/./a.bin"] {
            XCTAssertThrowsError(try OutputFile.prepare(path: other, otherOutputs: [first])) { error in
                XCTAssertEqual(error as? OutputFileError, .sameFileAsOtherOutput(path: other, other: folder.file("a.bin")))
            }
        }
        let existing = try folder.write("b.bin", "b")
        XCTAssertEqual(link(existing, folder.file("b-link.bin")), 0)
        let second = try OutputFile.prepare(path: existing)
        XCTAssertThrowsError(try OutputFile.prepare(path: folder.file("b-link.bin"), otherOutputs: [first, second])) { error in
            XCTAssertEqual(error as? OutputFileError, .sameFileAsOtherOutput(path: folder.file("b-link.bin"), other: existing))
        }
        XCTAssertNoThrow(try OutputFile.prepare(path: folder.file("c.bin"), otherOutputs: [first, second]))
    }

    /// Outputs committed together: when one destination turns out bad at commit time, neither is written.
    func testCommittingTogetherWritesAllOrNothing() throws {
        let folder = try TestFolder(self)
        let old = try folder.write("b.bin", "old b")
        for unnamed in [true, false] {
            OutputFile.unnamedTemporaryFilesAllowed = unnamed
            let a = try OutputFile.prepare(path: folder.file("a.bin"))
            let b = try OutputFile.prepare(path: old, otherOutputs: [a])
            let c = try OutputFile.prepare(path: folder.file("c.bin"), otherOutputs: [a, b])
            for file in [a, b, c] { try file.write(Array("new".utf8)) }
            try FileManager.default.createDirectory(atPath: folder.file("c.bin"), withIntermediateDirectories: false)
            XCTAssertThrowsError(try OutputFile.commit([a, b, c])) { error in
                XCTAssertEqual(error as? OutputFileError, .notRegularFile(path: folder.file("c.bin"), kind: "a directory"))
            }
            XCTAssertEqual(try folder.listing(), ["b.bin", "c.bin"], "unnamed: \(unnamed)")
            XCTAssertEqual(TestFolder.bytes(old), Data("old b".utf8))
            try FileManager.default.removeItem(atPath: folder.file("c.bin"))
        }
        let a = try OutputFile.prepare(path: folder.file("a.bin")), b = try OutputFile.prepare(path: old, otherOutputs: [a])
        try a.write(Array("A".utf8))
        try b.write(Array("B".utf8))
        try OutputFile.commit([a, b])
        XCTAssertEqual(TestFolder.bytes(folder.file("a.bin")), Data("A".utf8))
        XCTAssertEqual(TestFolder.bytes(old), Data("B".utf8))
        XCTAssertEqual(try folder.listing(), ["a.bin", "b.bin"])
    }

    /// A destination swapped for a link or made an input's hard link after `prepare` is still refused.
    func testTheDestinationIsCheckedAgainAtTheCommit() throws {
        let folder = try TestFolder(self)
        let input = try folder.write("input.bin", "input")
        let file = try OutputFile.prepare(path: folder.file("out.bin"), inputs: [input])
        try file.write([1])
        XCTAssertEqual(link(input, folder.file("out.bin")), 0)
        XCTAssertThrowsError(try file.commit()) { error in
            XCTAssertEqual(error as? OutputFileError, .sameFileAsInput(path: folder.file("out.bin"), input: input))
        }
        XCTAssertEqual(TestFolder.bytes(input), Data("input".utf8))
        XCTAssertEqual(try folder.listing(), ["input.bin", "out.bin"])
    }

    /// Without unnamed files the temporary file has a hidden name from the start; ``OutputFile/removeTemporaryFiles()``
    /// (what the CLI's signal handler calls) removes it.
    func testSignalCleanupRemovesNamedTemporaryFiles() throws {
        OutputFile.unnamedTemporaryFilesAllowed = false
        let folder = try TestFolder(self)
        let path = try folder.write("out.bin", "old")
        let file = try OutputFile.prepare(path: path)
        try file.write(Array("partial".utf8))
        let listing = try folder.listing()
        XCTAssertEqual(listing.count, 2)
        XCTAssertTrue(listing.contains { $0.hasPrefix(".out.bin.tomesd-") && $0.hasSuffix(".tmp") }, "\(listing)")
        OutputFile.removeTemporaryFiles()
        XCTAssertEqual(try folder.listing(), ["out.bin"])
        XCTAssertEqual(TestFolder.bytes(path), Data("old".utf8))
        file.discard()
    }

    func testTemporaryNamesStayWithinTheFileNameLimit() {
        let long = String(repeating: "é", count: 127) + ".safetensors"  // 266 bytes: too long for a name anyway
        let name = OutputFile.temporaryName(for: long)
        XCTAssertLessThanOrEqual(name.utf8.count, 255)
        XCTAssertTrue(name.hasPrefix(".é"))
    }
}
