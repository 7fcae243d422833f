#if canImport(Glibc)
import Glibc
#endif
@testable import TensorCore
import XCTest

/// The cache behind `TensorStorage`: a freed large buffer comes back for the next request of about its size, small
/// ones are never kept, and cached plus in-use memory stays within an eighth above the high-water mark.
final class FreedBufferCacheTests: XCTestCase {
    private let mebibyte = 1 << 20

    /// A fresh buffer from the system, as `TensorStorage` allocates on a miss.
    private func allocate(_ cache: FreedBufferCache, _ bytes: Int) -> UnsafeMutableRawPointer {
        XCTAssertNil(cache.take(bytes: bytes), "expected a miss for \(bytes) bytes")
        return malloc(bytes)!
    }

    func testReusesABufferOfAboutTheSameSize() throws {
        let cache = FreedBufferCache()
        let buffer = allocate(cache, mebibyte)
        cache.give(buffer, bytes: mebibyte)
        XCTAssertEqual(cache.cachedByteCount, mebibyte)
        let again = try XCTUnwrap(cache.take(bytes: mebibyte))
        XCTAssertEqual(again.pointer, buffer)
        XCTAssertEqual(again.bytes, mebibyte)
        cache.give(again.pointer, bytes: again.bytes)

        // Up to twice the request is reused (with its real size); more than twice is not, and that miss frees the
        // cached 1 MiB: keeping it would hold 1.25 MiB where at most 1 MiB was ever in use (+ an eighth).
        let smaller = try XCTUnwrap(cache.take(bytes: mebibyte / 2 + 64))
        XCTAssertEqual([smaller.bytes], [mebibyte])
        cache.give(smaller.pointer, bytes: smaller.bytes)
        let quarter = allocate(cache, mebibyte / 4 + 64)
        cache.give(quarter, bytes: mebibyte / 4 + 64)
        XCTAssertEqual(cache.cachedByteCount, mebibyte / 4 + 64)
    }

    func testSmallBuffersAreNotKept() {
        let cache = FreedBufferCache()
        let small = cache.minimumBytes - 64
        XCTAssertNil(cache.take(bytes: small))
        cache.give(malloc(small)!, bytes: small)
        XCTAssertEqual(cache.cachedByteCount, 0)
    }

    /// In use at most 8 MiB at once: after all is freed, a 4 MiB miss may keep at most 9 MiB (8 + an eighth) cached
    /// plus in use, so the oldest cached buffers go.
    func testStaysWithinAnEighthAboveTheHighWaterMark() {
        let cache = FreedBufferCache()
        let buffers = (0..<8).map { _ in allocate(cache, mebibyte) }
        for buffer in buffers { cache.give(buffer, bytes: mebibyte) }
        XCTAssertEqual(cache.cachedByteCount, 8 * mebibyte)
        let large = allocate(cache, 4 * mebibyte)
        XCTAssertLessThanOrEqual(cache.cachedByteCount + 4 * mebibyte, 9 * mebibyte)
        XCTAssertEqual(cache.cachedByteCount, 5 * mebibyte)
        cache.give(large, bytes: 4 * mebibyte)
        // The newest cached buffers survived: a 1 MiB request is still a hit.
        XCTAssertNotNil(cache.take(bytes: mebibyte))
    }
}
