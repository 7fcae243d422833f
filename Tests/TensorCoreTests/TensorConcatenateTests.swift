import XCTest
@testable import TensorCore

final class TensorConcatenateTests: XCTestCase {
    func testConcatenationAlongEachAxisMatchesTheReference() throws {
        for axis in 0..<3 {
            var shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
            for (i, size) in [1, 0, 5].enumerated() { shapes[i][axis] = size }
            let parts = shapes.enumerated().map { randomTensor($0.element, seed: UInt64(10 + $0.offset)) }
            let joined = try Tensor.concatenated(parts, axis: axis)
            var expectedShape = shapes[0]
            expectedShape[axis] = 6
            XCTAssertEqual(joined.shape, expectedShape)
            for index in allIndices(expectedShape) {
                // Find which part holds this index along `axis`.
                var (part, local) = (0, index)
                while local[axis] >= shapes[part][axis] { local[axis] -= shapes[part][axis]; part += 1 }
                XCTAssertEqual(joined.scalars[offset(of: index, in: expectedShape)],
                               parts[part].scalars[offset(of: local, in: shapes[part])], "axis \(axis) index \(index)")
            }
        }
    }

    func testSliceUndoesConcatenationAndRunsThreaded() throws {
        let a = randomTensor([2, 300, 64], seed: 20), b = randomTensor([2, 200, 64], seed: 21)
        let joined = try Tensor.concatenated([a, b], axis: -2)
        XCTAssertEqual(try joined.sliced(0..<300, axis: 1), a)
        XCTAssertEqual(try joined.sliced(300..<500, axis: 1), b)
        // GEGLU's chunk(2, dim=-1) and back.
        let (left, right) = (try joined.sliced(0..<32, axis: -1), try joined.sliced(32..<64, axis: -1))
        XCTAssertEqual(left.shape, [2, 500, 32])
        XCTAssertEqual(try Tensor.concatenated([left, right], axis: -1), joined)
    }

    func testSliceMatchesTheReference() throws {
        let x = randomTensor([3, 4, 5], seed: 22)
        let y = try x.sliced(1..<4, axis: 2)
        XCTAssertEqual(y.shape, [3, 4, 3])
        for index in allIndices(y.shape) {
            XCTAssertEqual(y.scalars[offset(of: index, in: y.shape)], x.scalars[offset(of: [index[0], index[1], index[2] + 1], in: x.shape)])
        }
        XCTAssertEqual(try x.sliced(2..<2, axis: 0).shape, [0, 4, 5])
    }

    func testBadArgumentsThrowNamingTheShapes() {
        let x = randomTensor([2, 3], seed: 23)
        XCTAssertThrowsError(try Tensor.concatenated([], axis: 0)) { error in
            XCTAssertEqual(error as? TensorError, .invalidArgument("concatenate: no tensors to join"))
        }
        XCTAssertThrowsError(try Tensor.concatenated([x, randomTensor([3, 3], seed: 24)], axis: 1)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch("concatenate along axis 1: shapes [[2, 3], [3, 3]] differ off that axis"))
        }
        XCTAssertThrowsError(try Tensor.concatenated([x, randomTensor([2, 3, 1], seed: 25)], axis: 0))
        XCTAssertThrowsError(try Tensor.concatenated([x], axis: 2)) { error in
            XCTAssertEqual(error as? TensorError, .invalidArgument("concatenate: axis 2 is out of range for shape [2, 3]"))
        }
        XCTAssertThrowsError(try x.sliced(1..<4, axis: 1)) { error in
            XCTAssertEqual(error as? TensorError, .invalidArgument("slice: range 1..<4 is out of bounds for axis 1 of shape [2, 3]"))
        }
        XCTAssertThrowsError(try x.sliced(0..<1, axis: -3))
    }
}
