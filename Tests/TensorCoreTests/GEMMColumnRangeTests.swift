import XCTest
@testable import TensorCore

/// `GEMM.sgemm(..., b: packed, columns: ...)`: a range of whole panels of the product, written from `c` on, equals
/// those columns of the whole product bit for bit (bias indexed by the product's column, beta reading C), and
/// nothing past the range's width in each row of C is touched; fp32 and bfloat16, every kernel variant, 1 and 3
/// threads, and a depth split into slices.
final class GEMMColumnRangeTests: GEMMTestCase {
    private func check(precision: Precision, label: String) throws {
        var generator = SeededGenerator(seed: 77)
        for (m, n, k) in [(13, 70, 9), (30, 100, GEMMBlocking.maxKCBF16 + 5)] {
            let a = (0..<m * k).map { _ in Float.random(in: -1..<1, using: &generator) }
            let b = (0..<n * k).map { _ in Float.random(in: -1..<1, using: &generator) }
            let bias = (0..<n).map { _ in Float.random(in: -1..<1, using: &generator) }
            let start = (0..<m * n).map { _ in Float.random(in: -1..<1, using: &generator) }
            for pool in [ThreadPool(threadCount: 1), ThreadPool(threadCount: 3)] {
                let packed = PackedMatrix(k: k, n: n, b: b, ldb: k, transposed: true, precision: precision, pool: pool)
                var whole = start
                GEMM.sgemm(m: m, a: a, lda: k, b: packed, beta: 0.5, c: &whole, ldc: n, bias: bias, pool: pool)
                let tile = packed.columnTile
                let ranges = [0 ..< min(n, tile), tile ..< n, (n / tile) * tile ..< n, 0 ..< n]
                for columns in ranges where !columns.isEmpty {
                    let ldc = columns.count + 3
                    var part = [Float](repeating: .nan, count: m * ldc)
                    for i in 0..<m {
                        for j in columns { part[i * ldc + j - columns.lowerBound] = start[i * n + j] }
                    }
                    GEMM.sgemm(m: m, a: a, lda: k, b: packed, columns: columns, beta: 0.5, c: &part, ldc: ldc,
                               bias: bias, pool: pool)
                    for i in 0..<m {
                        for j in 0..<ldc {
                            let got = part[i * ldc + j]
                            if j < columns.count {
                                XCTAssertEqual(got.bitPattern, whole[i * n + columns.lowerBound + j].bitPattern,
                                               "\(label) \(m)x\(n)x\(k) threads \(pool.threadCount) columns \(columns) C[\(i)][\(j)]")
                            } else {
                                XCTAssertTrue(got.isNaN, "\(label): wrote past the range at C[\(i)][\(j)]")
                            }
                        }
                    }
                }
            }
        }
    }

    func testColumnRangesMatchTheWholeProduct() throws {
        for kernel in GEMMKernel.available {
            GEMMKernel.setActive(kernel)
            try check(precision: .fp32, label: "\(kernel)")
        }
        for kernel in BF16GEMMKernel.available {
            BF16GEMMKernel.setActive(kernel)
            try check(precision: .bf16, label: "\(kernel)")
        }
    }
}
