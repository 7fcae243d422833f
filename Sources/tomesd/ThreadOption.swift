import Foundation
import TensorCore

/// Applies `TOMESD_NUM_THREADS` and `--threads` (which wins) to the shared thread pool: each must be a whole
/// number from 1 to ``ThreadPool/maximumThreadCount``, else a usage error naming it. Warns when the system starts
/// fewer threads than asked for.
func applyThreadOptions(_ arguments: inout Arguments) throws {
    func parse(_ text: String, _ name: String) throws -> Int {
        do {
            return try ThreadPool.threadCount(parsing: text)
        } catch TensorError.invalidArgument(let reason) {
            throw UsageError("\(name) \(reason)")
        }
    }
    if let text = ProcessInfo.processInfo.environment["TOMESD_NUM_THREADS"] {
        _ = try parse(text, "TOMESD_NUM_THREADS")
    }
    guard let text = arguments.string("threads") else { return }
    let count = try parse(text, "option --threads")
    try ThreadPool.setSharedThreadCount(count)
    if ThreadPool.shared.threadCount < count {
        fputs("warning: the system started only \(ThreadPool.shared.threadCount) of the \(count) threads asked for\n", stderr)
    }
}
