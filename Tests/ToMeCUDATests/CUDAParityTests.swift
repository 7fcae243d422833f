import Foundation
import TensorCore
import ToMe
@testable import ToMeCUDA
import ToMeCUDAParity
import XCTest

/// CPU/GPU parity and bad inputs of the CUDA backend. Every test skips, saying why, on a machine without a GPU.
final class CUDAParityTests: XCTestCase {
    func testFixturesGiveIdenticalPlansOnCPUAndGPU() throws {
        let device = try CUDATestSupport.device()
        let directory = CUDATestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/tome")
        let reports = try CUDAParity.fixtureReports(directory: directory, device: device)
        XCTAssertGreaterThanOrEqual(reports.count, 16)
        for report in reports { XCTAssertTrue(report.passed, report.description) }
    }

    func testSyntheticCasesGiveIdenticalPlansOnCPUAndGPU() throws {
        let device = try CUDATestSupport.device()
        for report in CUDAParity.syntheticReports(device: device, includeLarge: false) {
            XCTAssertTrue(report.passed, report.description)
        }
    }

    func testBackendChoiceGivesTheSamePlan() throws {
        let device = try CUDATestSupport.device()
        let metric = try CUDATestSupport.randomTensor([2, 12 * 10, 16], seed: 9)
        let partition = try Partition(height: 12, width: 10, sx: 2, sy: 2)
        let cpu = try BipartiteMatching.plan(metric: metric, partition: partition, r: 50, backend: .cpu)
        let gpu = try BipartiteMatching.plan(metric: metric, partition: partition, r: 50,
                                             backend: .cuda(device: device.index))
        XCTAssertEqual(cpu, gpu)
        XCTAssertEqual(try BipartiteMatching.plan(metric: metric, partition: partition, r: 0, backend: .cuda(device: 0)),
                       MergePlan(identityFor: 2, tokenCount: 120))
    }

    func testNonFiniteMetricNamesTheToken() throws {
        let device = try CUDATestSupport.device()
        let partition = try Partition(height: 6, width: 6, sx: 2, sy: 2)
        // A NaN, an infinity, and finite values whose squared norm overflows, all in token 17 of batch element 1.
        let badRows: [[Float]] = [[0, 0, 0, 0, 0, .nan, 0, 0], [0, 0, 0, -.infinity, 0, 0, 0, 0],
                                  [Float](repeating: 3e19, count: 8)]
        for badRow in badRows {
            var metric = try CUDATestSupport.randomTensor([2, 36, 8], seed: 1)
            metric.withUnsafeMutableBufferPointer { values in
                for c in 0..<8 { values[(36 + 17) * 8 + c] = badRow[c] }
            }
            XCTAssertThrowsError(try CUDAMergePlan(metric: CUDATensor(metric, device: device), partition: partition, r: 9)) {
                guard case ToMeError.nonFiniteMetric(let batch, let token, _) = $0 else { return XCTFail("\($0)") }
                XCTAssertEqual([batch, token], [1, 17], "\(badRow)")
            }
        }
    }

    func testBadShapesAndArgumentsAreTypedErrors() throws {
        let device = try CUDATestSupport.device()
        let partition = try Partition(height: 4, width: 4, sx: 2, sy: 2)
        let metric = try CUDATensor(CUDATestSupport.randomTensor([1, 16, 8], seed: 2), device: device)
        func expectShapeMismatch(_ body: @autoclosure () throws -> Any, _ what: String) {
            XCTAssertThrowsError(try body(), what) {
                guard case ToMeError.shapeMismatch = $0 else { return XCTFail("\(what): \($0)") }
            }
        }
        expectShapeMismatch(try CUDAMergePlan(metric: CUDATensor(Tensor(zeros: [16, 8]), device: device),
                                              partition: partition, r: 4), "rank 2 metric")
        expectShapeMismatch(try CUDAMergePlan(metric: CUDATensor(Tensor(zeros: [1, 15, 8]), device: device),
                                              partition: partition, r: 4), "wrong token count")
        expectShapeMismatch(try CUDAMergePlan(metric: CUDATensor(Tensor(zeros: [1, 16, 0]), device: device),
                                              partition: partition, r: 4), "no channels")
        XCTAssertThrowsError(try CUDAMergePlan(metric: metric, partition: partition, r: -1)) {
            guard case ToMeError.invalidArgument = $0 else { return XCTFail("\($0)") }
        }
        let plan = try CUDAMergePlan(metric: metric, partition: partition, r: 100)
        XCTAssertEqual(plan.r, 12, "r is clamped to the number of sources")
        expectShapeMismatch(try plan.merge(CUDATensor(Tensor(zeros: [1, 12, 8]), device: device)), "merge of [1, 12, 8]")
        expectShapeMismatch(try plan.unmerge(metric), "unmerge of [1, 16, 8]")
        expectShapeMismatch(try plan.merge(CUDATensor(Tensor(zeros: [2, 16, 8]), device: device)), "merge of batch 2")
        XCTAssertThrowsError(try CUDABuffer<Float>(device: device, count: -1)) {
            guard case CUDAError.invalidArgument = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try CUDABuffer<Float>(device: device, count: 4).upload([1, 2, 3])) {
            guard case CUDAError.invalidArgument = $0 else { return XCTFail("\($0)") }
        }
    }

    func testBuffersRoundTrip() throws {
        let device = try CUDATestSupport.device()
        let values: [Int32] = [3, -1, 7, 0, Int32.max]
        XCTAssertEqual(try CUDABuffer(device: device, elements: values).download(), values)
        let tensor = try CUDATestSupport.randomTensor([2, 3, 5], seed: 4)
        XCTAssertEqual(try CUDATensor(tensor, device: device).download(), tensor)
    }
}
