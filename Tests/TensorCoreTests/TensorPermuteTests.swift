import XCTest
@testable import TensorCore

final class TensorPermuteTests: XCTestCase {
    /// The permutation computed one element at a time.
    private func reference(_ x: Tensor, _ axes: [Int]) -> [Float] {
        let outputShape = axes.map { x.shape[$0] }
        let scalars = x.scalars
        return allIndices(outputShape).map { index in
            var source = [Int](repeating: 0, count: axes.count)
            for (i, axis) in axes.enumerated() { source[axis] = index[i] }
            return scalars[offset(of: source, in: x.shape)]
        }
    }

    func testEveryPermutationOfARank4TensorMatchesTheReference() throws {
        let x = randomTensor([3, 5, 2, 7], seed: 1)
        func permutations(_ items: [Int]) -> [[Int]] {
            items.count <= 1 ? [items] : items.flatMap { item in permutations(items.filter { $0 != item }).map { [item] + $0 } }
        }
        for axes in permutations([0, 1, 2, 3]) {
            let y = try x.permuted(axes)
            XCTAssertEqual(y.shape, axes.map { x.shape[$0] }, "\(axes)")
            XCTAssertEqual(y.scalars, reference(x, axes), "\(axes)")
        }
    }

    func testLayoutChangesTheModelsNeed() throws {
        // NCHW -> NHWC and back, with sizes that leave ragged transpose tiles and enough work to run threaded.
        let nchw = randomTensor([2, 19, 37, 45], seed: 2)
        let nhwc = try nchw.permuted([0, 2, 3, 1])
        XCTAssertEqual(nhwc.scalars, reference(nchw, [0, 2, 3, 1]))
        XCTAssertEqual(try nhwc.permuted([0, 3, 1, 2]), nchw)
        // [B, N, heads, d] -> [B, heads, N, d]: the last axis stays, rows are gathered.
        let tokens = randomTensor([2, 300, 4, 40], seed: 3)
        XCTAssertEqual(try tokens.permuted([0, 2, 1, 3]).scalars, reference(tokens, [0, 2, 1, 3]))
        // A large 2-D transpose: more than one 128x128 tile each way.
        let matrix = randomTensor([300, 270], seed: 4)
        XCTAssertEqual(try matrix.transposed(0, 1).scalars, reference(matrix, [1, 0]))
    }

    func testSizeOneAxesAndIdentityShareStorage() throws {
        let x = randomTensor([4, 1, 6], seed: 5)
        let moved = try x.permuted([1, 0, 2])
        XCTAssertEqual(moved.shape, [1, 4, 6])
        XCTAssertTrue(moved.storage === x.storage)
        XCTAssertTrue(try x.permuted([0, 1, 2]).storage === x.storage)
        XCTAssertEqual(try x.permuted([2, 1, 0]).scalars, reference(x, [2, 1, 0]))
    }

    func testEmptyAndScalarTensors() throws {
        XCTAssertEqual(try Tensor(zeros: [2, 0, 3]).permuted([2, 0, 1]).shape, [3, 2, 0])
        let scalar = try Tensor(shape: [], scalars: [7])
        XCTAssertEqual(try scalar.permuted([]), scalar)
    }

    func testTransposeAcceptsNegativeAxes() throws {
        let x = randomTensor([2, 3, 4], seed: 6)
        XCTAssertEqual(try x.transposed(-1, -2), try x.permuted([0, 2, 1]))
    }

    func testBadAxesThrowNamingTheOperation() {
        let x = randomTensor([2, 3], seed: 7)
        for axes in [[0], [0, 0], [0, 2], [1, 0, 2]] {
            XCTAssertThrowsError(try x.permuted(axes)) { error in
                XCTAssertEqual(error as? TensorError,
                               .invalidArgument("permute: \(axes) is not a permutation of the axes of shape [2, 3]"))
            }
        }
        XCTAssertThrowsError(try x.transposed(0, 2)) { error in
            XCTAssertEqual(error as? TensorError, .invalidArgument("transpose: axis 2 is out of range for shape [2, 3]"))
        }
    }
}
