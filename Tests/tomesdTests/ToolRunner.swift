import Foundation
import XCTest

private final class ToolRunnerAnchor {}

/// Runs the `tomesd` executable that `swift build` / `swift test` put beside the test bundle, for the CLI tests.
extension XCTestCase {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `tomesd` executable built beside the test bundle.
    static func toolURL() throws -> URL {
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
                          Bundle(for: ToolRunnerAnchor.self).bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("tomesd") }
        guard let tool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("the tomesd executable is not built beside the tests (swift build builds it)")
        }
        return tool
    }

    /// Runs the `tomesd` executable with `arguments` (one thread, unless `environment` says otherwise); with
    /// `marker`, sends `signal` once standard error contains it. Skips the test when the executable is not built.
    func runTool(_ arguments: [String], interruptAfter marker: String? = nil, signal: Int32 = SIGINT,
                 environment: [String: String] = [:]) throws -> Run {
        try run(try Self.toolURL(), arguments, interruptAfter: marker, signal: signal, environment: environment)
    }

    /// Runs `executable` with its output sent to files (no pipe handlers: Foundation's readability handlers can
    /// crash in libdispatch on Linux); with `marker`, sends `signal` once standard error contains it. A run still
    /// going after `timeout` seconds is killed and fails the test (status -1).
    func run(_ executable: URL, _ arguments: [String], interruptAfter marker: String? = nil, signal: Int32 = SIGINT,
             environment extraEnvironment: [String: String] = [:], timeout: Double = 300) throws -> Run {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tomesd-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let stdoutURL = folder.appendingPathComponent("stdout"), stderrURL = folder.appendingPathComponent("stderr")
        for url in [stdoutURL, stderrURL] where !FileManager.default.createFile(atPath: url.path, contents: nil) {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        let (stdoutFile, stderrFile) = (try FileHandle(forWritingTo: stdoutURL), try FileHandle(forWritingTo: stderrURL))
        defer {
            try? stdoutFile.close()
            try? stderrFile.close()
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TOMESD_NUM_THREADS"] = "1"
        environment.merge(extraEnvironment) { $1 }
        process.environment = environment
        process.standardOutput = stdoutFile
        process.standardError = stderrFile
        try process.run()
        let deadline = Date(timeIntervalSinceNow: timeout)
        var signalled = marker == nil
        while process.isRunning && Date() < deadline {
            if !signalled, let marker, let text = try? String(contentsOf: stderrURL, encoding: .utf8), text.contains(marker) {
                kill(process.processIdentifier, signal)
                signalled = true
            }
            usleep(10_000)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTFail("\(arguments) still running after \(timeout) s")
            return Run(status: -1, stdout: "", stderr: "killed after \(timeout) s")
        }
        process.waitUntilExit()
        let read = { (url: URL) in String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self) }
        return Run(status: process.terminationStatus, stdout: read(stdoutURL), stderr: read(stderrURL))
    }
}
