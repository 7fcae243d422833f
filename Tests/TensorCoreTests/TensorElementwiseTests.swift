import XCTest
@testable import TensorCore

final class TensorElementwiseTests: XCTestCase {
    /// `lhs op rhs` one element at a time, `rhs` broadcast by the documented rule.
    private func reference(_ lhs: Tensor, _ rhs: Tensor, _ op: (Float, Float) -> Float) -> [Float] {
        let padded = [Int](repeating: 1, count: lhs.rank - rhs.rank) + rhs.shape
        let (a, b) = (lhs.scalars, rhs.scalars)
        return allIndices(lhs.shape).map { index in
            let rhsIndex = zip(index, padded).map { $1 == 1 ? 0 : $0 }
            return op(a[offset(of: index, in: lhs.shape)], b[offset(of: rhsIndex, in: padded)])
        }
    }

    private let broadcastCases: [(lhs: [Int], rhs: [Int])] = [
        ([2, 3, 4, 5], [2, 3, 4, 5]),  // same shape
        ([2, 3, 4, 5], [5]),           // per-channel bias
        ([2, 3, 4, 5], [2, 1, 1, 5]),  // per-image embedding added to NHWC
        ([2, 3, 4, 5], [2, 3, 4, 1]),  // per-token scale
        ([2, 3, 4, 5], [3, 1, 5]),     // alternating matched and broadcast axes
        ([2, 3, 4, 5], [1]),           // scalar tensor
        ([2, 3, 4, 5], []),            // rank-0 tensor
        ([1, 3, 1, 5], [3, 1, 5]),
        ([3, 1], [1]),
        ([2, 0, 3], [3]),              // empty
    ]

    func testBroadcastArithmeticMatchesTheReference() throws {
        for (i, shapes) in broadcastCases.enumerated() {
            let lhs = randomTensor(shapes.lhs, seed: UInt64(100 + i)), rhs = randomTensor(shapes.rhs, seed: UInt64(200 + i))
            XCTAssertEqual(try (lhs + rhs).scalars, reference(lhs, rhs, +), "\(shapes)")
            XCTAssertEqual(try (lhs - rhs).scalars, reference(lhs, rhs, -), "\(shapes)")
            XCTAssertEqual(try (lhs * rhs).scalars, reference(lhs, rhs, *), "\(shapes)")
            XCTAssertEqual(try (lhs * rhs).shape, shapes.lhs)
        }
    }

    func testInPlaceOperatorsMatchAndCopyOnWrite() throws {
        let x = randomTensor([4, 6, 8], seed: 300), bias = randomTensor([8], seed: 301)
        var y = x
        try y += bias
        XCTAssertEqual(y.scalars, reference(x, bias, +))
        XCTAssertEqual(x, randomTensor([4, 6, 8], seed: 300), "the original is untouched")
        try y -= bias
        try y *= x
        XCTAssertEqual(y.scalars, reference(try (x + bias) - bias, x, *))
        var z = x
        try z += z
        XCTAssertEqual(z.scalars, x.scalars.map { $0 + $0 })
    }

    func testScalingByAFloat() {
        let x = randomTensor([3, 70_000], seed: 302)  // large enough to run threaded
        XCTAssertEqual((x * 0.5).scalars, x.scalars.map { $0 * 0.5 })
        var y = x
        y *= -3
        XCTAssertEqual(y.scalars, x.scalars.map { $0 * -3 })
    }

    func testLargeBroadcastsRunThreadedAndStayExact() throws {
        let x = randomTensor([2, 16, 16, 320], seed: 303), bias = randomTensor([320], seed: 304)
        let embedding = randomTensor([2, 1, 1, 320], seed: 305), scale = randomTensor([2, 16, 16, 1], seed: 306)
        XCTAssertEqual(try (x + bias).scalars, reference(x, bias, +))
        XCTAssertEqual(try (x - embedding).scalars, reference(x, embedding, -))
        XCTAssertEqual(try (x * scale).scalars, reference(x, scale, *))
        XCTAssertEqual(try (x + x).scalars, x.scalars.map { $0 + $0 })
    }

    func testShapesThatDoNotBroadcastThrow() {
        let x = randomTensor([2, 3], seed: 307)
        XCTAssertThrowsError(try x + randomTensor([2], seed: 308)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch("add: shape [2] does not broadcast to [2, 3]"))
        }
        XCTAssertThrowsError(try x - randomTensor([1, 2, 3], seed: 309)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch("subtract: shape [1, 2, 3] does not broadcast to [2, 3]"))
        }
        var y = x
        XCTAssertThrowsError(try y *= randomTensor([3, 3], seed: 310)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch("multiply: shape [3, 3] does not broadcast to [2, 3]"))
        }
        XCTAssertEqual(y, x)
    }
}
