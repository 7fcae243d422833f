import TensorCore

extension ThreadPool {
    /// Runs `body(task, scratch)` for every task in `0..<tasks`, spread over the threads; each thread allocates one
    /// scratch buffer of `scratchCount` floats for all the tasks it runs (tasks are dealt round-robin, so they
    /// should cost about the same). With a single task, `body` runs on the calling thread outside any parallel
    /// loop, so the work inside it may fan out itself.
    func forEachTask(_ tasks: Int, scratchCount: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        let workers = min(threadCount, tasks)
        parallelFor(workers) { worker in
            let scratch = TensorStorage(count: scratchCount, zeroed: false)  // large ones are reused across calls
            for task in Swift.stride(from: worker, to: tasks, by: workers) { body(task, scratch.pointer) }
            withExtendedLifetime(scratch) {}
        }
    }
}
