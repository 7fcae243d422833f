import CKernels
import Foundation

/// A persistent pool of worker threads for data-parallel loops.
///
/// The pool starts `threadCount - 1` workers once; the calling thread is the last participant. A `parallelFor`
/// issued from inside another `parallelFor` body runs serially on the calling thread (no nested fan-out, no
/// deadlock). The shared pool uses every core unless `TOMESD_NUM_THREADS` says otherwise, and can be replaced
/// with ``setSharedThreadCount(_:)`` (the CLI's `--threads`). A pool has at most ``maximumThreadCount``
/// threads; when the system refuses to start one, the pool runs with the threads it got.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads taking part in a `parallelFor`, the caller included: the number asked for, unless the
    /// system refused to start some.
    public let threadCount: Int
    private let state: State

    /// The most threads a pool takes: 4 per processor, at least 64 and at most 1024. More would only add
    /// switching (and each thread reserves an 8 MiB stack).
    public static let maximumThreadCount = min(1024, max(64, 4 * ProcessInfo.processInfo.activeProcessorCount))

    /// Creates a pool with `threadCount` participants, clamped to `1...`\ ``maximumThreadCount``. Fewer take
    /// part when the system refuses to start a thread (see ``threadCount``).
    public convenience init(threadCount: Int) {
        self.init(threadCount: threadCount, startThread: Self.startThread)
    }

    /// Creates a pool whose workers are started by `startThread`, which returns false when it cannot start one
    /// (tests use this to simulate a system that refuses threads).
    init(threadCount: Int, startThread: (@escaping @Sendable () -> Void) -> Bool) {
        let requested = min(max(1, threadCount), Self.maximumThreadCount)
        let state = State()
        var started = 0
        while started < requested - 1, startThread({ [state] in state.workerLoop() }) { started += 1 }
        state.setWorkers(started)
        self.state = state
        self.threadCount = started + 1
    }

    deinit { state.shutDown() }

    /// The number of threads the shared pool gets by default: `TOMESD_NUM_THREADS` if it is valid (see
    /// ``threadCount(parsing:)``), otherwise the number of active processors (at most ``maximumThreadCount``).
    public static var defaultThreadCount: Int {
        if let text = ProcessInfo.processInfo.environment["TOMESD_NUM_THREADS"], let n = try? threadCount(parsing: text) {
            return n
        }
        return min(ProcessInfo.processInfo.activeProcessorCount, maximumThreadCount)
    }

    /// A thread count written as text (the CLI's `--threads`, `TOMESD_NUM_THREADS`): a whole number from 1 to
    /// ``maximumThreadCount``.
    /// - Throws: ``TensorError/invalidArgument(_:)`` saying what is accepted.
    public static func threadCount(parsing text: String) throws -> Int {
        guard let count = Int(text), (1...maximumThreadCount).contains(count) else {
            throw TensorError.invalidArgument("expects a number of threads from 1 to \(maximumThreadCount) "
                + "(4 per processor, at least 64, at most 1024), got '\(text)'")
        }
        return count
    }

    private static let sharedLock = NSLock()
    nonisolated(unsafe) private static var sharedPool = ThreadPool(threadCount: defaultThreadCount)

    /// The process-wide pool that every operation uses unless it is handed another.
    public static var shared: ThreadPool {
        sharedLock.lock(); defer { sharedLock.unlock() }
        return sharedPool
    }

    /// Replaces the shared pool with one of `count` threads (fewer if the system refuses some: see
    /// ``threadCount``).
    /// - Throws: ``TensorError/invalidArgument(_:)`` when `count` is not in `1...`\ ``maximumThreadCount``.
    public static func setSharedThreadCount(_ count: Int) throws {
        guard (1...maximumThreadCount).contains(count) else {
            throw TensorError.invalidArgument("thread count must be from 1 to \(maximumThreadCount), got \(count)")
        }
        sharedLock.lock(); defer { sharedLock.unlock() }
        if sharedPool.threadCount != count { sharedPool = ThreadPool(threadCount: count) }
    }

    /// Starts a detached thread with an 8 MiB stack running `body`; false when the system refuses.
    private static func startThread(_ body: @escaping @Sendable () -> Void) -> Bool {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 8 << 20)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        guard pthread_create(&thread, &attributes, { ThreadBody.run($0) }, context) == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            return false
        }
        return true
    }

    /// A thread's body, handed to `pthread_create` as its context.
    private final class ThreadBody {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }

        static func run(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
            Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }
    }

    /// The threads a loop started now would spread over: 1 while the pool runs a loop (a `parallelFor` from
    /// inside another one runs serially), otherwise ``threadCount``. Work that splits itself for the threads (a GEMM
    /// cutting its columns between them) asks this first, so that a nested call does not split for nothing.
    public var availableThreads: Int { ck_atomic_load(state.loopRunning) == 0 ? threadCount : 1 }

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
    ///
    /// Waiting is spin-then-block: a worker that finished a loop spins on ``generation`` for about 0.1 ms before it
    /// sleeps on the condition, and the caller spins on ``busy`` the same way before it sleeps. A UNet step runs
    /// hundreds of short loops a few microseconds apart, and waking a sleeping thread costs tens of microseconds
    /// each time (at 512², ~700 loops: the worker now sleeps ~30 times per step); OpenMP and oneTBB runtimes wait
    /// the same way.
    private final class State: @unchecked Sendable {
        let condition = NSCondition()
        /// The workers started (set once, before the first loop).
        private(set) var workers = 0
        var job: ((Int) -> Void)?
        var jobCount = 0
        var running = false
        var shuttingDown = false
        /// Counts the loops started; a worker takes a loop when it sees this change.
        let generation = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        /// The workers still draining the current loop.
        let busy = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        /// 1 while a loop runs (``running``, readable without the lock).
        let loopRunning = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        let nextIndex = UnsafeMutablePointer<Int64>.allocate(capacity: 1)

        /// Pauses spun before a waiting thread blocks: about 0.1 ms (a pause takes 10–140 cycles, by CPU).
        static let spinRounds: Int64 = 4000

        init() {
            generation.initialize(to: 0)
            busy.initialize(to: 0)
            loopRunning.initialize(to: 0)
            nextIndex.initialize(to: 0)
        }

        func setWorkers(_ count: Int) {
            condition.lock(); defer { condition.unlock() }
            workers = count
        }

        deinit {
            generation.deallocate()
            busy.deallocate()
            loopRunning.deallocate()
            nextIndex.deallocate()
        }

        /// Claims the pool for one loop; false when a loop is already running (a nested call runs serially).
        func begin() -> Bool {
            condition.lock(); defer { condition.unlock() }
            if running { return false }
            running = true
            ck_atomic_store(loopRunning, 1)
            return true
        }

        func run(_ body: @escaping (Int) -> Void, _ count: Int) {
            condition.lock()
            job = body
            jobCount = count
            ck_atomic_store(nextIndex, 0)
            ck_atomic_store(busy, Int64(workers))
            _ = ck_atomic_fetch_add(generation, 1)
            condition.broadcast()
            condition.unlock()

            drain(body, count)

            if !ck_spin_until_equal(busy, 0, Self.spinRounds) {
                condition.lock()
                while ck_atomic_load(busy) > 0 { condition.wait() }
                condition.unlock()
            }
            condition.lock()
            job = nil
            running = false
            ck_atomic_store(loopRunning, 0)
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

        /// A worker's part of the current loop; called with the lock held, returns without it. The loop's body
        /// is released on return, before the caller is told the worker is done (the caller checks that it was not
        /// kept).
        private func takePart() {
            let body = job, count = jobCount
            condition.unlock()
            if let body { drain(body, count) }
        }

        func workerLoop() {
            var seen: Int64 = 0
            while true {
                _ = ck_spin_until_changed(generation, seen, Self.spinRounds)
                condition.lock()
                while ck_atomic_load(generation) == seen && !shuttingDown { condition.wait() }
                if shuttingDown { condition.unlock(); return }
                seen = ck_atomic_load(generation)
                takePart()
                // The last worker out wakes the caller, in case it stopped spinning and sleeps.
                if ck_atomic_fetch_add(busy, -1) == 1 {
                    condition.lock()
                    condition.broadcast()
                    condition.unlock()
                }
            }
        }
    }
}
