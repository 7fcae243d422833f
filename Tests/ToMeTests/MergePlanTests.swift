import TensorCore
import XCTest
@testable import ToMe

final class MergePlanTests: XCTestCase {
    /// 1×6 grid, sx = 2: destinations are tokens 0, 2, 4 (indices 0, 1, 2), sources tokens 1, 3, 5.
    private func handMadePlan() throws -> MergePlan {
        let partition = try Partition(height: 1, width: 6, sx: 2, sy: 1)
        // Source 1 (token 3) scores highest; sources 0 and 2 tie, so source 0 (token 1) ranks first.
        let best = try BestDestinations(batchSize: 1, sourceCount: 3, destinationCount: 3,
                                        destination: [0, 2, 1], score: [0.5, 0.9, 0.5])
        return try MergePlan(partition: partition, bestDestinations: best, r: 2)
    }

    func testLayoutRanksSourcesAndGroupsDestinations() throws {
        let plan = try handMadePlan()
        XCTAssertEqual(plan.outputTokenCount, 4)
        XCTAssertEqual(plan.keptSourceCount, 1)
        // Rows: kept token 5; then destinations 0 (+1), 2, 4 (+3).
        XCTAssertEqual(plan.groupOffsets, [0, 1, 3, 4, 6])
        XCTAssertEqual(plan.groupMembers, [5, 0, 1, 2, 4, 3])
        XCTAssertEqual(plan.outputRow, [1, 1, 2, 3, 3, 0])
    }

    func testMergeAveragesGroupsAndUnmergeCopiesRowsBack() throws {
        let plan = try handMadePlan()
        let x = try Tensor(shape: [1, 6, 2], scalars: [0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15])
        let merged = try plan.merge(x)
        XCTAssertEqual(merged, try Tensor(shape: [1, 4, 2], scalars: [5, 15, 0.5, 10.5, 2, 12, 3.5, 13.5]))
        let restored = try plan.unmerge(merged)
        XCTAssertEqual(restored.scalars, [0.5, 10.5, 0.5, 10.5, 2, 12, 3.5, 13.5, 3.5, 13.5, 5, 15])
        // The plan is reusable on tensors of any width.
        let wide = try Tensor(shape: [1, 6, 3], scalars: (0..<18).map(Float.init))
        XCTAssertEqual(try plan.merge(wide).shape, [1, 4, 3])
    }

    func testRZeroIsTheIdentity() throws {
        let partition = try Partition(height: 2, width: 2, sx: 2, sy: 2)
        let x = try Tensor(shape: [2, 4, 3], scalars: (0..<24).map(Float.init))
        let plan = try BipartiteMatching.plan(metric: x, partition: partition, r: 0)
        XCTAssertEqual(try plan.merge(x), x)
        XCTAssertEqual(try plan.unmerge(x), x)
    }

    func testBatchElementsArePlannedIndependently() throws {
        let partition = try Partition(height: 1, width: 4, sx: 2, sy: 1)  // destinations 0, 2; sources 1, 3
        // Batch 0: token 1 resembles token 2; batch 1: token 1 resembles token 0.
        let x = try Tensor(shape: [2, 4, 2], scalars: [1, 0, 0, 1, 0, 1, 1, 1, /**/ 1, 0, 1, 0.01, 0, 1, -1, -1])
        let plan = try BipartiteMatching.plan(metric: x, partition: partition, r: 1)
        XCTAssertEqual(Array(plan.groupMembers[0..<4]), [3, 0, 2, 1])
        XCTAssertEqual(Array(plan.groupMembers[4..<8]), [3, 0, 1, 2])
    }
}
