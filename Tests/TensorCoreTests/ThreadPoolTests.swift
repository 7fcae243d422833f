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

    /// Loops right after one another (the workers still spinning), after pauses longer than the spin (the workers
    /// asleep on the condition), and, from round 4 on, with workers much slower per index than the caller (the
    /// caller spins out and sleeps until the last worker wakes it): every index runs exactly once each time, and
    /// every loop returns.
    func testLoopsAfterSpinningAndSleeping() {
        let pool = ThreadPool(threadCount: 3)
        let caller = pthread_self()
        var hits = [Int](repeating: 0, count: 64)
        hits.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for round in 0..<8 {
                if round % 2 == 1 { usleep(5_000) }
                pool.parallelFor(64) { i in
                    if round >= 4 { usleep(pthread_equal(pthread_self(), caller) != 0 ? 20 : 1_000) }
                    base[i] += 1
                }
            }
        }
        XCTAssertEqual(hits, [Int](repeating: 8, count: 64))
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

    /// Inside a loop the pool offers one thread (a nested loop would run serially); outside, all of them.
    func testAvailableThreadsInsideALoop() {
        let pool = ThreadPool(threadCount: 3)
        XCTAssertEqual(pool.availableThreads, 3)
        var seen = [Int](repeating: 0, count: 6)
        seen.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            pool.parallelFor(6) { i in base[i] = pool.availableThreads }
        }
        XCTAssertEqual(seen, [Int](repeating: 1, count: 6))
        XCTAssertEqual(pool.availableThreads, 3)
    }

    /// A system that refuses threads (simulated: the thread-starting function fails after `started` threads) gives
    /// a smaller pool that still runs every index; it never waits for workers that were never started.
    func testRunsWithTheThreadsTheSystemGives() {
        for started in [0, 1, 3] {
            var attempts = 0
            let pool = ThreadPool(threadCount: 8) { body in
                attempts += 1
                guard attempts <= started else { return false }
                Thread { body() }.start()
                return true
            }
            XCTAssertEqual(pool.threadCount, started + 1)
            XCTAssertEqual(attempts, started + 1, "stops asking after the first refusal")
            var hits = [Int](repeating: 0, count: 500)
            hits.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                assertFinishes(within: 10, "parallelFor with \(started) workers") { pool.parallelFor(500) { base[$0] += 1 } }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: 500))
        }
    }

    func testThreadCountsAreBounded() throws {
        let maximum = ThreadPool.maximumThreadCount
        XCTAssertEqual(maximum, min(1024, max(64, 4 * ProcessInfo.processInfo.activeProcessorCount)))
        for text in ["1", "4", String(maximum)] { XCTAssertEqual(try ThreadPool.threadCount(parsing: text), Int(text)) }
        for text in ["0", "-1", String(maximum + 1), "40000", "9223372036854775807", "99999999999999999999", "", "two", "4 ", "0x10"] {
            XCTAssertThrowsError(try ThreadPool.threadCount(parsing: text), text) { error in
                XCTAssertEqual(error as? TensorError, .invalidArgument(
                    "expects a number of threads from 1 to \(maximum) (4 per processor, at least 64, at most 1024), got '\(text)'"))
            }
        }
        XCTAssertThrowsError(try ThreadPool.setSharedThreadCount(maximum + 1))
        var attempts = 0
        _ = ThreadPool(threadCount: Int.max) { _ in
            attempts += 1
            return false
        }
        XCTAssertEqual(attempts, 1)
        XCTAssertEqual(ThreadPool(threadCount: Int.max).threadCount, maximum, "clamped to the maximum")
    }

    func testReplacingTheSharedPool() throws {
        XCTAssertThrowsError(try ThreadPool.setSharedThreadCount(0))
        let before = ThreadPool.shared.threadCount
        try ThreadPool.setSharedThreadCount(1)
        XCTAssertEqual(ThreadPool.shared.threadCount, 1)
        try ThreadPool.setSharedThreadCount(before)
    }
}
