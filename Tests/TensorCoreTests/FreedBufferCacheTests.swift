#if canImport(Glibc)
import Glibc
#endif
import CKernels
@testable import TensorCore
import XCTest

/// The cache behind `TensorStorage`: a freed large buffer comes back for the next request of about its size, small
/// ones are never kept, and cached plus in-use memory stays within an eighth above the high-water mark.
final class FreedBufferCacheTests: XCTestCase {
    private let mebibyte = 1 << 20

    /// A fresh malloc buffer, as `TensorStorage` allocates on a miss for less than a huge page.
    private func allocate(_ cache: FreedBufferCache, _ bytes: Int) -> FreedBufferCache.Buffer {
        XCTAssertNil(cache.take(bytes: bytes), "expected a miss for \(bytes) bytes")
        return FreedBufferCache.Buffer(pointer: malloc(bytes)!, bytes: bytes, mapped: false)
    }

    func testReusesABufferOfAboutTheSameSize() throws {
        let cache = FreedBufferCache()
        let buffer = allocate(cache, mebibyte)
        cache.give(buffer)
        XCTAssertEqual(cache.cachedByteCount, mebibyte)
        let again = try XCTUnwrap(cache.take(bytes: mebibyte))
        XCTAssertEqual(again.pointer, buffer.pointer)
        XCTAssertEqual(again.bytes, mebibyte)
        cache.give(again)

        // Up to twice the request is reused (with its real size); more than twice is not, and that miss frees the
        // cached 1 MiB: keeping it would hold 1.25 MiB where at most 1 MiB was ever in use (+ an eighth).
        let smaller = try XCTUnwrap(cache.take(bytes: mebibyte / 2 + 64))
        XCTAssertEqual([smaller.bytes], [mebibyte])
        cache.give(smaller)
        let quarter = allocate(cache, mebibyte / 4 + 64)
        cache.give(quarter)
        XCTAssertEqual(cache.cachedByteCount, mebibyte / 4 + 64)
    }

    func testSmallBuffersAreNotKept() {
        let cache = FreedBufferCache()
        let small = cache.minimumBytes - 64
        XCTAssertNil(cache.take(bytes: small))
        cache.give(FreedBufferCache.Buffer(pointer: malloc(small)!, bytes: small, mapped: false))
        XCTAssertEqual(cache.cachedByteCount, 0)
    }

    /// In use at most 8 MiB at once: after all is freed, a 4 MiB miss may keep at most 9 MiB (8 + an eighth) cached
    /// plus in use, so the oldest cached buffers go.
    func testStaysWithinAnEighthAboveTheHighWaterMark() {
        let cache = FreedBufferCache()
        let buffers = (0..<8).map { _ in allocate(cache, mebibyte) }
        for buffer in buffers { cache.give(buffer) }
        XCTAssertEqual(cache.cachedByteCount, 8 * mebibyte)
        let large = allocate(cache, 4 * mebibyte)
        XCTAssertLessThanOrEqual(cache.cachedByteCount + 4 * mebibyte, 9 * mebibyte)
        XCTAssertEqual(cache.cachedByteCount, 5 * mebibyte)
        cache.give(large)
        // The newest cached buffers survived: a 1 MiB request is still a hit.
        XCTAssertNotNil(cache.take(bytes: mebibyte))
    }

    /// Where pages can move (Linux), a miss for a huge buffer is made of the pages of cached mapped buffers, oldest
    /// first, and keeps what they held (moved, not copied or zeroed); a buffer only partly needed stays cached with
    /// the rest of its pages. Elsewhere the same miss is a plain miss.
    func testAHugeMissTakesThePagesOfCachedBuffers() throws {
        let cache = FreedBufferCache()
        let granule = Int(CK_PAGES_GRANULE)
        guard ck_pages_supported() != 0 else {
            XCTAssertNil(ck_pages_map(granule, granule))
            return XCTAssertNil(cache.take(bytes: 4 * granule))
        }
        func mapped(_ granules: Int, filledWith byte: UInt8) throws -> FreedBufferCache.Buffer {
            XCTAssertNil(cache.take(bytes: granules * granule), "expected a miss")
            let pointer = try XCTUnwrap(ck_pages_map(granules * granule, granules * granule))
            pointer.initializeMemory(as: UInt8.self, repeating: byte, count: granules * granule)
            return FreedBufferCache.Buffer(pointer: pointer, bytes: granules * granule, mapped: true)
        }
        let (old, newer) = (try mapped(2, filledWith: 1), try mapped(3, filledWith: 2))
        cache.give(old)
        cache.give(newer)
        XCTAssertEqual(cache.cachedByteCount, 5 * granule)

        // 4 granules less a byte: nothing cached is that large, so the oldest 2 granules and 2 of the newer 3 move in.
        let assembled = try XCTUnwrap(cache.take(bytes: 4 * granule - 1))
        XCTAssertTrue(assembled.mapped)
        XCTAssertEqual(assembled.bytes, 4 * granule)
        XCTAssertEqual(cache.cachedByteCount, granule)
        let bytes = assembled.pointer.assumingMemoryBound(to: UInt8.self)
        XCTAssertEqual([bytes[0], bytes[2 * granule - 1], bytes[2 * granule], bytes[4 * granule - 1]], [1, 1, 2, 2])

        // The newer buffer's last granule is still cached, at its place: a request of one granule gets it back.
        let rest = try XCTUnwrap(cache.take(bytes: granule))
        XCTAssertEqual(rest.pointer, newer.pointer + 2 * granule)
        XCTAssertEqual(rest.pointer.load(as: UInt8.self), 2)
        assembled.release()
        rest.release()
    }
}
