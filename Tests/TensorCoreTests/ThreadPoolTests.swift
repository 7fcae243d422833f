import XCTest
@testable import TensorCore

final class ThreadPoolTests: XCTestCase {
    func testEveryIndexRunsExactlyOnce() {
        let pool = ThreadPool(threadCount: 3)
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            pool.parallelFor(1000) { base[$0] += 1 }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 1000))
    }

    func testNestedLoopsRunSerially() {
        let pool = ThreadPool(threadCount: 2)
        var total = [Int](repeating: 0, count: 8)
        total.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            pool.parallelFor(8) { i in pool.parallelFor(4) { _ in base[i] += 1 } }
        }
        XCTAssertEqual(total, [Int](repeating: 4, count: 8))
    }

    func testReplacingTheSharedPool() throws {
        XCTAssertThrowsError(try ThreadPool.setSharedThreadCount(0))
        let before = ThreadPool.shared.threadCount
        try ThreadPool.setSharedThreadCount(1)
        XCTAssertEqual(ThreadPool.shared.threadCount, 1)
        try ThreadPool.setSharedThreadCount(before)
    }
}
