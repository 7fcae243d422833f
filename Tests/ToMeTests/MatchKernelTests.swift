import TensorCore
import XCTest
@testable import ToMe

/// Every kernel variant must return exactly the scalar (canonical) result, including on inputs built so that the
/// approximate scores disagree with the canonical ones: near-duplicates, exact duplicates, a shared component,
/// zero tokens, and channel or destination counts that leave partial tiles.
final class MatchKernelTests: XCTestCase {
    func testCanonicalDotIsTheDocumentedOrderInEveryVariant() {
        var random = SplitMix64(seed: 1)
        for n in [1, 5, 15, 16, 17, 31, 32, 33, 100, 320, 321] {
            let a = (0..<n).map { _ in Self.uniform(&random) }, b = (0..<n).map { _ in Self.uniform(&random) }
            let expected = Self.canonicalDot(a, b)
            for kernel in MatchKernel.available {
                XCTAssertEqual(kernel.canonicalDot(a, b, count: n).bitPattern, expected.bitPattern, "\(kernel), n = \(n)")
            }
        }
    }

    func testEveryVariantEqualsScalarOnAdversarialInputs() throws {
        for (height, width, channels) in [(12, 10, 37), (20, 20, 64), (9, 13, 7), (16, 14, 320)] {
            let partition = try Partition(height: height, width: width, sx: 2, sy: 2)
            let metric = try Self.adversarialMetric(batch: 2, tokens: height * width, channels: channels)
            let reference = try BipartiteMatching.bestDestinations(
                metric: metric, partition: partition, kernel: MatchKernel.available[0])
            for kernel in MatchKernel.available.dropFirst() {
                let best = try BipartiteMatching.bestDestinations(metric: metric, partition: partition, kernel: kernel)
                XCTAssertEqual(best.destination, reference.destination, "\(kernel), \(height)×\(width)×\(channels)")
                XCTAssertEqual(best.score.map(\.bitPattern), reference.score.map(\.bitPattern), "\(kernel)")
            }
        }
    }

    func testNearIdenticalTokensTakeTheDensePathAndStillMatchScalar() throws {
        // Every destination is a candidate for every source: the variants score rows densely on register tiles.
        for channels in [16, 45, 320] {
            var random = SplitMix64(seed: UInt64(channels))
            let base = (0..<channels).map { _ in Self.uniform(&random) }
            let metric = try Tensor(shape: [1, 24 * 20, channels], scalars: (0..<(24 * 20 * channels)).map {
                base[$0 % channels] + 1e-6 * Self.uniform(&random)
            })
            let partition = try Partition(height: 24, width: 20, sx: 2, sy: 2)
            let reference = try BipartiteMatching.bestDestinations(
                metric: metric, partition: partition, kernel: MatchKernel.available[0])
            for kernel in MatchKernel.available.dropFirst() {
                let best = try BipartiteMatching.bestDestinations(metric: metric, partition: partition, kernel: kernel)
                XCTAssertEqual(best, reference, "\(kernel), C = \(channels)")
            }
        }
    }

    func testResultsDoNotDependOnTheThreadCount() throws {
        let partition = try Partition(height: 20, width: 20, sx: 2, sy: 2)
        let metric = try Self.adversarialMetric(batch: 3, tokens: 400, channels: 24)
        let one = try BipartiteMatching.plan(metric: metric, partition: partition, r: 150, pool: ThreadPool(threadCount: 1))
        let three = try BipartiteMatching.plan(metric: metric, partition: partition, r: 150, pool: ThreadPool(threadCount: 3))
        XCTAssertEqual(one, three)
        XCTAssertEqual(try one.merge(metric, pool: ThreadPool(threadCount: 1)), try three.merge(metric, pool: ThreadPool(threadCount: 3)))
    }

    func testDuplicateDestinationsTieToTheLowestIndexAndZeroTokensScoreZero() throws {
        // 1×4 grid, sx = 2: destinations are tokens 0 and 2, sources 1 and 3. Both destinations are equal.
        let partition = try Partition(height: 1, width: 4, sx: 2, sy: 1)
        let metric = try Tensor(shape: [1, 4, 3], scalars: [1, 2, 3, /* source */ 1, 2, 2.5, 1, 2, 3, /* zero */ 0, 0, 0])
        for kernel in MatchKernel.available {
            let best = try BipartiteMatching.bestDestinations(metric: metric, partition: partition, kernel: kernel)
            XCTAssertEqual(best.destination, [0, 0], "\(kernel)")
            XCTAssertEqual(best.score[1], 0, "\(kernel): a zero token has similarity 0 with everything")
            XCTAssertGreaterThan(best.score[0], 0.99, "\(kernel)")
        }
    }

    /// Destinations are a few base directions plus perturbations of 1e-3 and smaller, some exact duplicates and
    /// one zero token; sources are perturbed copies, all on top of a large shared component.
    static func adversarialMetric(batch: Int, tokens: Int, channels: Int) throws -> Tensor {
        var random = SplitMix64(seed: UInt64(tokens * 1000 + channels))
        let common = (0..<channels).map { _ in 4 * uniform(&random) }
        let bases = (0..<3).map { _ in (0..<channels).map { _ in uniform(&random) } }
        var scalars = [Float]()
        for _ in 0..<batch {
            var previous = [Float](repeating: 0, count: channels)
            for token in 0..<tokens {
                let base = bases[Int(random.next(below: 3))]
                let scale: Float = [1e-3, 1e-4, 1e-6][Int(random.next(below: 3))]
                var row = (0..<channels).map { common[$0] + base[$0] + scale * uniform(&random) }
                if token % 7 == 3 { row = previous }
                if token == tokens / 2 { row = [Float](repeating: 0, count: channels) }
                scalars += row
                previous = row
            }
        }
        return try Tensor(shape: [batch, tokens, channels], scalars: scalars)
    }

    static func uniform(_ random: inout SplitMix64) -> Float {
        Float(random.next() >> 40) / Float(1 << 24) - 0.5
    }

    /// The canonical dot product, written from its definition in ck_match.h.
    static func canonicalDot(_ a: [Float], _ b: [Float]) -> Float {
        var lanes = [Float](repeating: 0, count: 16)
        for c in a.indices { lanes[c % 16] = lanes[c % 16].addingProduct(a[c], b[c]) }
        for width in [8, 4, 2, 1] {
            for l in 0..<width { lanes[l] = lanes[l] + lanes[l + width] }
        }
        return lanes[0]
    }
}
