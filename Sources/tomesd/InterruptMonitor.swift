import Dispatch
import Foundation
import TensorCore

/// Signal handling for the CLI.
///
/// At start, ``removeTemporaryFilesOnSignals()`` makes SIGINT, SIGTERM and SIGHUP remove the named temporary
/// files of unfinished outputs (``OutputFile``) before the process ends as the signal says, so an interrupted
/// write leaves nothing behind. During a long computation, an instance turns Ctrl-C (SIGINT) into a flag the
/// computation polls, so that it can stop cleanly between steps: the first Ctrl-C raises the flag and says so, a
/// second one ends the process at once (exit status 130), also removing temporary files.
final class InterruptMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var interrupted = false
    private var source: DispatchSourceSignal?

    /// Whether Ctrl-C was pressed since ``start(message:)``.
    var isInterrupted: Bool {
        lock.lock()
        defer { lock.unlock() }
        return interrupted
    }

    /// Starts catching SIGINT; `message` is printed on the first one.
    func start(message: String) {
        signal(SIGINT, SIG_IGN)  // delivered to the dispatch source instead
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in
            lock.lock()
            let again = interrupted
            interrupted = true
            lock.unlock()
            if again {
                OutputFile.removeTemporaryFiles()
                exit(130)
            }
            fputs("\n\(message)\n", stderr)
        }
        source.resume()
        self.source = source
    }

    /// Gives SIGINT back to the handler of ``removeTemporaryFilesOnSignals()``.
    func stop() {
        source?.cancel()
        source = nil
        Self.installRemovingHandler(SIGINT)
    }

    /// Makes SIGINT, SIGTERM and SIGHUP remove the named temporary files of unfinished outputs, then end the
    /// process as they would have. Call once, before any output is prepared.
    static func removeTemporaryFilesOnSignals() {
        OutputFile.removeTemporaryFiles()  // sets up the storage the handler reads (nothing is registered yet)
        for number in [SIGINT, SIGTERM, SIGHUP] { installRemovingHandler(number) }
    }

    private static func installRemovingHandler(_ number: Int32) {
        var action = sigaction()
        #if canImport(Darwin)
        action.__sigaction_u.__sa_handler = removeTemporaryFilesAndEnd
        #else
        action.__sigaction_handler.sa_handler = removeTemporaryFilesAndEnd
        #endif
        sigemptyset(&action.sa_mask)
        sigaction(number, &action, nil)
    }
}

/// The signal handler: removes temporary files (async-signal-safe), then restores the default action and raises
/// the signal again, which ends the process with the status the signal gives once the handler returns.
private func removeTemporaryFilesAndEnd(_ number: Int32) {
    OutputFile.removeTemporaryFiles()
    signal(number, SIG_DFL)
    raise(number)
}
