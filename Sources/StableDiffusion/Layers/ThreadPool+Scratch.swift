import CKernels
import TensorCore

extension ThreadPool {
    /// Runs `body(task, scratch)` for every task in `0..<tasks`, spread over the threads; each thread allocates one
    /// scratch buffer of `scratchCount` floats for all the tasks it runs. Threads claim tasks in order, one at a
    /// time, until none are left, so a thread the system slows down (another process on its core) takes fewer and
    /// the others do the rest. With a single task, `body` runs on the calling thread outside any parallel loop, so
    /// the work inside it may fan out itself.
    func forEachTask(_ tasks: Int, scratchCount: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        let workers = min(threadCount, tasks)
        let next = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        next.initialize(to: 0)
        defer { next.deallocate() }
        parallelFor(workers) { _ in
            let scratch = TensorStorage(count: scratchCount, zeroed: false)  // large ones are reused across calls
            while true {
                let task = Int(ck_atomic_fetch_add(next, 1))
                if task >= tasks { break }
                body(task, scratch.pointer)
            }
            withExtendedLifetime(scratch) {}
        }
    }
}
