import XCTest
@testable import TensorCore

final class TensorReductionTests: XCTestCase {
    /// Each reduction of one run, in double precision.
    private func reference(_ run: ArraySlice<Float>, _ reduction: Tensor.Reduction) -> Float {
        let values = run.map(Double.init)
        switch reduction {
        case .sum: return Float(values.reduce(0, +))
        case .mean: return Float(values.reduce(0, +) / Double(values.count))
        case .max: return values.contains(where: \.isNaN) ? .nan : Float(values.max()!)
        case .l2Norm: return Float(values.map { $0 * $0 }.reduce(0, +).squareRoot())
        }
    }

    func testEveryReductionMatchesTheReference() throws {
        // Row lengths around the SIMD widths, and one large enough to run threaded.
        for (i, shape) in [[3, 1], [2, 5, 7], [4, 16], [3, 33], [2, 64], [5, 129], [2, 100, 320]].enumerated() {
            let x = randomTensor(shape, seed: UInt64(400 + i))
            let length = shape.last!
            for reduction in Tensor.Reduction.allCases {
                let y = try x.reducedAlongLastAxis(reduction)
                XCTAssertEqual(y.shape, Array(shape.dropLast()))
                let scalars = x.scalars
                for (row, value) in y.scalars.enumerated() {
                    let expected = reference(scalars[row * length ..< (row + 1) * length], reduction)
                    XCTAssertEqual(value, expected, accuracy: 1e-5 * max(1, abs(expected)), "\(shape) \(reduction) row \(row)")
                }
            }
        }
    }

    func testMaxPropagatesNaNAndHandlesInfinities() throws {
        var values = [Float](repeating: -.infinity, count: 40)
        values[37] = .nan
        let x = try Tensor(shape: [2, 20], scalars: values)
        let y = try x.reducedAlongLastAxis(.max)
        XCTAssertEqual(y.scalars[0], -.infinity)
        XCTAssertTrue(y.scalars[1].isNaN)
    }

    func testEmptyAxesAndScalars() throws {
        let empty = Tensor(zeros: [3, 0])
        XCTAssertEqual(try empty.reducedAlongLastAxis(.sum).scalars, [0, 0, 0])
        XCTAssertEqual(try empty.reducedAlongLastAxis(.l2Norm).scalars, [0, 0, 0])
        XCTAssertThrowsError(try empty.reducedAlongLastAxis(.mean)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch("reduce mean: the last axis of shape [3, 0] is empty"))
        }
        XCTAssertThrowsError(try empty.reducedAlongLastAxis(.max))
        XCTAssertThrowsError(try Tensor(shape: [], scalars: [1]).reducedAlongLastAxis(.sum)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch("reduce sum: a scalar has no last axis to reduce"))
        }
        XCTAssertEqual(try Tensor(zeros: [0, 4]).reducedAlongLastAxis(.max).shape, [0])
    }
}
