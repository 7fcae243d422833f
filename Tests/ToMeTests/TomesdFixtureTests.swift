import TensorCore
@testable import ToMe
import XCTest

/// Plans, merges and unmerges every tomesd fixture with every kernel variant this CPU runs.
final class TomesdFixtureTests: XCTestCase {
    func testFixturesExist() throws {
        XCTAssertGreaterThanOrEqual(try TomesdFixture.all().count, 16)
    }

    func testEveryKernelReproducesTomesd() throws {
        for fixture in try TomesdFixture.all() {
            let partition = try fixture.partition
            let tokens = fixture.height * fixture.width
            XCTAssertEqual(try MergeGrid.r(tokenCount: tokens, ratio: fixture.ratio), fixture.r, fixture.name)
            if !fixture.random {
                XCTAssertEqual(partition, try Partition(height: fixture.height, width: fixture.width, sx: fixture.sx, sy: fixture.sy))
            }
            for kernel in MatchKernel.available {
                let context = "\(fixture.name) [\(kernel)]"
                let plan = try BipartiteMatching.plan(metric: fixture.x, partition: partition, r: fixture.r, kernel: kernel)
                XCTAssertEqual(roles(of: plan), fixture.role, context)
                let merged = try plan.merge(fixture.x)
                XCTAssertEqual(merged.shape, fixture.merged.shape, context)
                try assertSameRows(merged, plan: plan, fixture: fixture, context)
                assertClose(try plan.unmerge(merged), fixture.restored, context)
            }
        }
    }

    /// Per token, as in the fixture: -1 destination, -2 kept source, or the destination token it merged into.
    private func roles(of plan: MergePlan) -> [Int] {
        var role = [Int](repeating: 0, count: plan.batchSize * plan.tokenCount)
        let rows = plan.outputTokenCount
        for b in 0..<plan.batchSize {
            let base = b * plan.tokenCount
            for row in 0..<rows {
                let start = Int(plan.groupOffsets[b * (rows + 1) + row]), end = Int(plan.groupOffsets[b * (rows + 1) + row + 1])
                let group = plan.groupMembers[(base + start)..<(base + end)].map(Int.init)
                if row < plan.keptSourceCount {
                    role[base + group[0]] = -2
                } else {
                    role[base + group[0]] = -1
                    for token in group.dropFirst() { role[base + token] = group[0] }
                }
            }
        }
        return role
    }

    /// Our merged rows equal tomesd's as a multiset: each tomesd row, found by the token that identifies it.
    private func assertSameRows(_ merged: Tensor, plan: MergePlan, fixture: TomesdFixture, _ context: String) throws {
        let (batch, rows, channels) = (merged.shape[0], merged.shape[1], merged.shape[2])
        let ours = merged.scalars, theirs = fixture.merged.scalars
        for b in 0..<batch {
            for row in 0..<rows {
                let token = fixture.mergedToken[b * rows + row]
                let ourRow = Int(plan.outputRow[b * plan.tokenCount + token])
                XCTAssertEqual(Int(plan.groupMembers[b * plan.tokenCount + Int(plan.groupOffsets[b * (rows + 1) + ourRow])]),
                               token, "\(context): row of token \(token)")
                for c in 0..<channels {
                    let a = ours[(b * rows + ourRow) * channels + c], e = theirs[(b * rows + row) * channels + c]
                    if abs(a - e) > 1e-5 * (1 + abs(e)) {
                        return XCTFail("\(context): merged row of token \(token), channel \(c): \(a) vs tomesd \(e)")
                    }
                }
            }
        }
    }

    private func assertClose(_ actual: Tensor, _ expected: Tensor, _ context: String) {
        XCTAssertEqual(actual.shape, expected.shape, context)
        for (i, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() where abs(a - e) > 1e-5 * (1 + abs(e)) {
            return XCTFail("\(context): restored element \(i): \(a) vs tomesd \(e)")
        }
    }
}
