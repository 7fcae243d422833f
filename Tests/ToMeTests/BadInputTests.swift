import TensorCore
@testable import ToMe
import XCTest

/// Every invalid argument is a thrown ToMeError whose message names the problem.
final class BadInputTests: XCTestCase {
    private func assertThrows(_ expression: @autoclosure () throws -> some Any, mentioning text: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertTrue(error is ToMeError, "\(error) is not a ToMeError", file: file, line: line)
            XCTAssertTrue("\(error)".contains(text), "'\(error)' does not mention '\(text)'", file: file, line: line)
        }
    }

    func testGridAndStride() {
        assertThrows(try Partition(height: 0, width: 4, sx: 2, sy: 2), mentioning: "empty")
        assertThrows(try Partition(height: 4, width: 4, sx: 0, sy: 2), mentioning: "sx = 0")
        assertThrows(try Partition(height: 4, width: 4, sx: 5, sy: 2), mentioning: "sx = 5")
        assertThrows(try Partition(height: 4, width: 4, sx: 2, sy: -1), mentioning: "sy = -1")
        assertThrows(try Partition(height: 4, width: 4, sx: 2, sy: 5), mentioning: "sy = 5")
        assertThrows(try Partition(height: 1 << 20, width: 1 << 20, sx: 2, sy: 2), mentioning: "32-bit")
        assertThrows(try Partition(height: 4, width: 4, sx: 2, sy: 2, cellChoices: [0, 1, 2]), mentioning: "3 cell choices")
        assertThrows(try Partition(height: 4, width: 4, sx: 2, sy: 2, cellChoices: [0, 1, 4, 0]), mentioning: "cell choice 4")
    }

    func testRatioAndR() throws {
        assertThrows(try MergeGrid.r(tokenCount: 16, ratio: -0.1), mentioning: "ratio")
        assertThrows(try MergeGrid.r(tokenCount: 16, ratio: 1), mentioning: "ratio")
        assertThrows(try MergeGrid.r(tokenCount: 16, ratio: .nan), mentioning: "ratio")
        let x = Tensor(zeros: [1, 16, 4])
        assertThrows(try BipartiteMatching.plan(metric: x, partition: try Partition(height: 4, width: 4, sx: 2, sy: 2), r: -1),
                     mentioning: "r = -1")
    }

    func testMetricShapes() throws {
        let partition = try Partition(height: 4, width: 4, sx: 2, sy: 2)
        assertThrows(try BipartiteMatching.plan(metric: Tensor(zeros: [16, 4]), partition: partition, r: 4), mentioning: "[B, N, C]")
        assertThrows(try BipartiteMatching.plan(metric: Tensor(zeros: [1, 15, 4]), partition: partition, r: 4), mentioning: "N = 15")
        assertThrows(try BipartiteMatching.plan(metric: Tensor(zeros: [0, 16, 4]), partition: partition, r: 4), mentioning: "empty")
        assertThrows(try BipartiteMatching.plan(metric: Tensor(zeros: [1, 16, 0]), partition: partition, r: 4), mentioning: "empty")
    }

    func testNonFiniteMetricNamesTheFirstBadToken() throws {
        let partition = try Partition(height: 4, width: 4, sx: 2, sy: 2)
        for (value, text) in [(Float.nan, "nan"), (.infinity, "inf"), (3e19, "squared norm")] {
            var scalars = [Float](repeating: 1, count: 2 * 16 * 4)
            scalars[(16 + 9) * 4 + 2] = value  // batch 1, token 9, channel 2
            scalars[(16 + 12) * 4] = value  // a later bad token is not the one reported
            let x = try Tensor(shape: [2, 16, 4], scalars: scalars)
            for kernel in MatchKernel.available {
                XCTAssertThrowsError(try BipartiteMatching.plan(metric: x, partition: partition, r: 4, kernel: kernel)) { error in
                    XCTAssertEqual((error as? ToMeError).map { if case .nonFiniteMetric(1, 9, _) = $0 { true } else { false } }, true, "\(error)")
                    XCTAssertTrue("\(error)".contains(text), "\(error)")
                }
            }
        }
    }

    func testPlanAndTensorMismatch() throws {
        let partition = try Partition(height: 4, width: 4, sx: 2, sy: 2)
        let x = try Tensor(shape: [2, 16, 4], scalars: (0..<128).map { Float($0 % 7) })
        let plan = try BipartiteMatching.plan(metric: x, partition: partition, r: 6)
        assertThrows(try plan.merge(Tensor(zeros: [1, 16, 4])), mentioning: "[2, 16, C]")
        assertThrows(try plan.merge(Tensor(zeros: [2, 10, 4])), mentioning: "merge input")
        assertThrows(try plan.merge(Tensor(zeros: [2, 16])), mentioning: "merge input")
        assertThrows(try plan.merge(Tensor(zeros: [2, 16, 0])), mentioning: "C >= 1")
        assertThrows(try plan.unmerge(Tensor(zeros: [2, 16, 4])), mentioning: "[2, 10, C]")
        assertThrows(try plan.unmerge(Tensor(zeros: [3, 10, 4])), mentioning: "unmerge input")
    }

    func testInconsistentBestDestinations() throws {
        let partition = try Partition(height: 1, width: 4, sx: 2, sy: 1)
        assertThrows(try BestDestinations(batchSize: 1, sourceCount: 2, destinationCount: 2, destination: [0], score: [1]),
                     mentioning: "1 indices")
        assertThrows(try BestDestinations(batchSize: 1, sourceCount: 2, destinationCount: 2, destination: [0, 2], score: [1, 1]),
                     mentioning: "best destination 2")
        assertThrows(try BestDestinations(batchSize: 1, sourceCount: 2, destinationCount: 2, destination: [0, 1], score: [1, .nan]),
                     mentioning: "NaN")
        let best = try BestDestinations(batchSize: 1, sourceCount: 2, destinationCount: 2, destination: [0, 1], score: [1, 1])
        assertThrows(try MergePlan(partition: partition, bestDestinations: best, r: 3), mentioning: "r = 3")
        let other = try Partition(height: 1, width: 6, sx: 2, sy: 1)
        assertThrows(try MergePlan(partition: other, bestDestinations: best, r: 1), mentioning: "2 sources")
    }
}
