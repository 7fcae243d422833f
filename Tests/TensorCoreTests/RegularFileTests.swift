import Foundation
import XCTest
@testable import TensorCore

/// ``RegularFile``: user files are read only when they are regular files, and a FIFO or device is refused at
/// once instead of blocking or streaming forever.
final class RegularFileTests: XCTestCase {
    func testReadsARegularFileThroughALink() throws {
        let folder = try TestFolder(self)
        let path = try folder.write("config.json", "{\"a\": 1}")
        try FileManager.default.createSymbolicLink(atPath: folder.file("link.json"), withDestinationPath: path)
        XCTAssertEqual(try RegularFile.contents(atPath: folder.file("link.json")), Data("{\"a\": 1}".utf8))
        XCTAssertThrowsError(try RegularFile.contents(atPath: path, limit: 3)) { error in
            XCTAssertEqual(error as? FileReadError, FileReadError(path: path, reason: "is 8 bytes, more than the 3 bytes accepted"))
        }
    }

    func testRefusesEverythingElseAtOnce() throws {
        let folder = try TestFolder(self)
        let fifo = try folder.fifo("fifo.json")
        let socket = try folder.socket("socket.json")
        let cases: [(String, String)] = [
            (fifo, "is a FIFO (named pipe), not a regular file"),
            (socket, "is a socket, not a regular file"),
            ("/dev/zero", "is a character device, not a regular file"),
            (folder.path, "is a directory, not a file"),
            (folder.file("missing.json"), "cannot open: No such file or directory"),
        ]
        for (path, reason) in cases {
            assertFinishes(within: 30, path) {
                XCTAssertThrowsError(try RegularFile.contents(atPath: path)) { error in
                    XCTAssertEqual(error as? FileReadError, FileReadError(path: path, reason: reason))
                }
                XCTAssertThrowsError(try SafeTensorsFile(contentsOf: URL(fileURLWithPath: path))) { error in
                    XCTAssertEqual(error as? SafeTensorsError, .io(path: path, reason: reason))
                }
            }
        }
    }
}
