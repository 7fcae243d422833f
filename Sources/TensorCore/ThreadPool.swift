import CKernels
import Foundation

/// A persistent pool of worker threads for data-parallel loops.
///
/// The pool starts `threadCount - 1` workers once; the calling thread is the last participant. A `parallelFor`
/// issued from inside another `parallelFor` body runs serially on the calling thread (no nested fan-out, no
/// deadlock). The shared pool uses every core unless `TOMESD_NUM_THREADS` says otherwise, and can be replaced
/// with ``setSharedThreadCount(_:)`` (the CLI's `--threads`).
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads taking part in a `parallelFor`, the caller included.
    public let threadCount: Int
    private let state: State

    /// Creates a pool with `threadCount` participants (at least 1).
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        state = State(workers: self.threadCount - 1)
        for _ in 1..<self.threadCount {
            let thread = Thread { [state] in state.workerLoop() }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    deinit { state.shutDown() }

    /// The number of threads the shared pool gets by default: `TOMESD_NUM_THREADS` if it is a positive integer,
    /// otherwise the number of active processors.
    public static var defaultThreadCount: Int {
        if let text = ProcessInfo.processInfo.environment["TOMESD_NUM_THREADS"], let n = Int(text), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    private static let sharedLock = NSLock()
    nonisolated(unsafe) private static var sharedPool = ThreadPool(threadCount: defaultThreadCount)

    /// The process-wide pool that every operation uses unless it is handed another.
    public static var shared: ThreadPool {
        sharedLock.lock(); defer { sharedLock.unlock() }
        return sharedPool
    }

    /// Replaces the shared pool with one of `count` threads.
    /// - Throws: ``TensorError/invalidArgument(_:)`` when `count < 1`.
    public static func setSharedThreadCount(_ count: Int) throws {
        guard count >= 1 else { throw TensorError.invalidArgument("thread count must be at least 1, got \(count)") }
        sharedLock.lock(); defer { sharedLock.unlock() }
        if sharedPool.threadCount != count { sharedPool = ThreadPool(threadCount: count) }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, spread over the pool; returns when all have finished.
    /// Indices are handed out dynamically, so uneven work balances itself.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threadCount == 1 || !state.begin() {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in state.run(escapable, count) }
    }

    /// The synchronisation state shared by the pool and its workers (workers keep it alive, not the pool).
    private final class State: @unchecked Sendable {
        let condition = NSCondition()
        let workers: Int
        var generation = 0
        var job: ((Int) -> Void)?
        var jobCount = 0
        var workersBusy = 0
        var running = false
        var shuttingDown = false
        let nextIndex = UnsafeMutablePointer<Int64>.allocate(capacity: 1)

        init(workers: Int) {
            self.workers = workers
            nextIndex.initialize(to: 0)
        }

        deinit { nextIndex.deallocate() }

        /// Claims the pool for one loop; false when a loop is already running (a nested call runs serially).
        func begin() -> Bool {
            condition.lock(); defer { condition.unlock() }
            if running { return false }
            running = true
            return true
        }

        func run(_ body: @escaping (Int) -> Void, _ count: Int) {
            condition.lock()
            job = body
            jobCount = count
            ck_atomic_store(nextIndex, 0)
            workersBusy = workers
            generation += 1
            condition.broadcast()
            condition.unlock()

            drain(body, count)

            condition.lock()
            while workersBusy > 0 { condition.wait() }
            job = nil
            running = false
            condition.unlock()
        }

        func shutDown() {
            condition.lock()
            shuttingDown = true
            condition.broadcast()
            condition.unlock()
        }

        private func drain(_ body: (Int) -> Void, _ count: Int) {
            while true {
                let i = Int(ck_atomic_fetch_add(nextIndex, 1))
                if i >= count { return }
                body(i)
            }
        }

        func workerLoop() {
            var seen = 0
            condition.lock()
            while true {
                while generation == seen && !shuttingDown { condition.wait() }
                if shuttingDown { condition.unlock(); return }
                seen = generation
                guard let body = job else { continue }
                let count = jobCount
                condition.unlock()
                drain(body, count)
                condition.lock()
                workersBusy -= 1
                if workersBusy == 0 { condition.broadcast() }
            }
        }
    }
}
