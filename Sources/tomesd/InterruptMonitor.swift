import Dispatch
import Foundation

/// Turns Ctrl-C (SIGINT) into a flag a long computation polls, so that it can stop cleanly between steps: the
/// first Ctrl-C raises the flag and says so, a second one ends the process at once (exit status 130).
final class InterruptMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var interrupted = false
    private var source: DispatchSourceSignal?

    /// Whether Ctrl-C was pressed since ``start()``.
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
            if again { exit(130) }
            fputs("\n\(message)\n", stderr)
        }
        source.resume()
        self.source = source
    }

    /// Restores the default SIGINT behaviour.
    func stop() {
        source?.cancel()
        source = nil
        signal(SIGINT, SIG_DFL)
    }
}
