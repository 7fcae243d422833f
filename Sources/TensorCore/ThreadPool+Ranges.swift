extension ThreadPool {
    /// Runs `body` over consecutive ranges that together cover `0..<count`, in parallel when there is enough work:
    /// ranges hold at least `grain` indices (except when `count` is smaller), and there are at most four per thread.
    public func parallelRanges(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(max(1, count / max(grain, 1)), threadCount * 4)
        if chunks == 1 {
            body(0..<count)
            return
        }
        parallelFor(chunks) { chunk in body(count * chunk / chunks ..< count * (chunk + 1) / chunks) }
    }
}
