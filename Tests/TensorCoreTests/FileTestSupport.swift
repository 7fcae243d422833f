import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Small files and special files made in a test's own temporary folder, removed after the test.
struct TestFolder {
    let path: String

    init(_ testCase: XCTestCase) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tensorcore-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        path = url.path
    }

    /// `path/name`.
    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try Data(text.utf8).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    /// The names in the folder (hidden ones included), sorted.
    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    /// The bytes of `path` (a file anywhere).
    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// A FIFO at `name`.
    @discardableResult
    func fifo(_ name: String) throws -> String {
        guard mkfifo(file(name), 0o644) == 0 else { throw XCTSkip("mkfifo failed: \(String(cString: strerror(errno)))") }
        return file(name)
    }

    /// A character device: a private twin of `/dev/null` made with `mknod` (as root), else `/dev/null` itself,
    /// which only root could replace (so a regression never damages the machine's `/dev/null`).
    func characterDevice(_ name: String) -> String {
        mknod(file(name), S_IFCHR | 0o666, 259) == 0 ? file(name) : "/dev/null"  // 259: device 1, 3 (null)
    }

    /// A listening Unix socket at `name`; the descriptor stays open until the process ends (tests are short).
    @discardableResult
    func socket(_ name: String) throws -> String {
        let path = file(name)
        #if canImport(Glibc)
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = Darwin.socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw XCTSkip("socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0 else { throw XCTSkip("cannot make a socket: \(String(cString: strerror(errno)))") }
        return path
    }
}

/// Runs `body` on another thread and fails when it has not finished within `seconds` (a call that blocks, such
/// as `open` on a FIFO, would otherwise hang the test run).
func assertFinishes(within seconds: Double, _ what: String, _ body: @escaping () throws -> Void,
                    file: StaticString = #filePath, line: UInt = #line) {
    /// The body, handed to the thread (the caller waits for it, so nothing runs concurrently with its captures).
    struct Body: @unchecked Sendable { let run: () throws -> Void }
    let done = DispatchSemaphore(value: 0), work = Body(run: body)
    Thread {
        do { try work.run() } catch { XCTFail("\(what): \(error)", file: file, line: line) }
        done.signal()
    }.start()
    XCTAssertEqual(done.wait(timeout: .now() + seconds), .success, "\(what) did not finish within \(seconds) s", file: file, line: line)
}
