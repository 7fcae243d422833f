import TensorCore

extension ThreadPool {
    /// Splits `0..<count` into contiguous chunks of at least `grain` items (a few per thread) and runs `body` on each
    /// chunk in parallel; returns when all are done.
    func parallelChunks(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(max(count / max(grain, 1), 1), threadCount * 4)
        parallelFor(chunks) { chunk in
            body(count * chunk / chunks ..< count * (chunk + 1) / chunks)
        }
    }
}
