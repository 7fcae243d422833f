import DiffusionPatch
import Foundation
import StableDiffusion
import TestSupport
import UNetBenchmarking
import XCTest

/// The benchmark runner on the tiny fixture UNet: rows, cells, speed-ups, the memory budget and the JSON document.
final class UNetBenchmarkTests: XCTestCase {
    private func tinyBenchmark(_ change: (inout UNetBenchmarkSettings) -> Void = { _ in }) throws -> UNetBenchmark {
        var settings = UNetBenchmarkSettings()
        settings.resolutions = [96, 64]
        settings.batches = [2, 1]
        settings.steps = 2
        settings.warmup = 0
        settings.contextTokens = 5
        change(&settings)
        let config = try UNetConfig.load(from: Fixtures.url("unet-sd1/config.json"))
        return try UNetBenchmark(settings: settings, config: config, weightSeed: 1)
    }

    func testRowsCellsAndSpeedUps() throws {
        let benchmark = try tinyBenchmark()
        var reported: [UNetBenchmarkRow] = []
        let rows = try benchmark.run { reported.append($0) }
        XCTAssertEqual(rows.map { [$0.resolution, $0.batch] }, [[64, 1], [64, 2], [96, 1], [96, 2]], "by increasing work")
        XCTAssertEqual(reported.map(\.resolution), rows.map(\.resolution))
        for row in rows {
            XCTAssertEqual(row.cells.map(\.column), UNetBenchmarkColumn.tomesdTable)
            for cell in row.cells {
                XCTAssertEqual(cell.stepSeconds?.count, 2)
                XCTAssertEqual(cell.cpuSeconds?.count, 2)
                XCTAssertGreaterThan(try XCTUnwrap(cell.seconds(.cpu, threads: 2)), 0)
                XCTAssertEqual(cell.seconds(.wall, threads: 2), cell.medianSeconds)
                XCTAssertGreaterThan(cell.peakBytes ?? 0, 0)
                XCTAssertEqual(cell.tokensMergedPerStep == nil, cell.column == .vanilla)
            }
            XCTAssertGreaterThan(try XCTUnwrap(row.cell(.tome)?.tokensMergedPerStep), 0)
            XCTAssertEqual(row.speedUp(.vanilla), 1)
            XCTAssertEqual(row.speedUp(.vanilla, clock: .cpu), 1)
            XCTAssertGreaterThan(try XCTUnwrap(row.speedUp(.tome, clock: .cpu)), 0)
            XCTAssertGreaterThan(try XCTUnwrap(row.predictedSpeedUp(.tome)), 1)
            XCTAssertEqual(row.predictedSpeedUp(.tome), row.predictedSpeedUp(.tomeMemoryEfficient))
            XCTAssertTrue(benchmark.tableLine(row).hasPrefix("| \(row.resolution)² | \(row.batch) | "))
        }
        let document = try JSONSerialization.jsonObject(with: Data(try benchmark.json(rows).utf8)) as? [String: Any]
        XCTAssertEqual((document?["rows"] as? [Any])?.count, 4)
        XCTAssertTrue(benchmark.tableHeader.hasPrefix("| Resolution | Batch | Vanilla | ToMe 0.5 | ToMe 0.5 + memory-efficient"))
    }

    func testToDoColumns() throws {
        let benchmark = try tinyBenchmark {
            $0.columns = UNetBenchmarkColumn.todoTable
            $0.resolutions = [64]
            $0.downsampling.maxDownsample = 2
        }
        let rows = try benchmark.run()
        for row in rows {
            XCTAssertEqual(row.cells.map(\.column), [.vanilla, .todo, .todoMemoryEfficient])
            XCTAssertGreaterThan(try XCTUnwrap(row.predictedSpeedUp(.todo)), 1)
            XCTAssertEqual(row.predictedSpeedUp(.todo), row.predictedSpeedUp(.todoMemoryEfficient))
            XCTAssertNotNil(row.cell(.todo)?.overheadSeconds)
            XCTAssertNil(row.cell(.vanilla)?.overheadSeconds)
            XCTAssertGreaterThan(try XCTUnwrap(row.speedUp(.todo, clock: .cpu)), 0)
        }
        XCTAssertTrue(benchmark.tableHeader.hasPrefix("| Resolution | Batch | Vanilla | ToDo ×2 | ToDo ×2 + memory-efficient"))
        XCTAssertTrue(benchmark.heading.contains("ToDo factor 2, nearest-exact, maxDownsample 2"), benchmark.heading)
        let document = try JSONSerialization.jsonObject(with: Data(try benchmark.json(rows).utf8)) as? [String: Any]
        XCTAssertEqual((document?["todo_options"] as? [String: Any])?["downsample_factor"] as? Int, 2)
    }

    func testCellsOverTheMemoryBudgetReadOOM() throws {
        let benchmark = try tinyBenchmark {
            $0.memoryBudgetBytes = 1
            $0.columns = [.vanilla, .tome]
        }
        let rows = try benchmark.run()
        XCTAssertTrue(rows.allSatisfy { $0.cells.allSatisfy(\.isOutOfMemory) })
        XCTAssertNotNil(rows[0].cells[0].peakBytes, "the first cell runs: nothing to predict it from")
        for row in rows.dropFirst() {
            XCTAssertNil(row.cells[0].peakBytes, "later cells are predicted (from the one that ran) and not run")
        }
        // The prediction is the cell's own baseline (the process's resident memory then, which earlier tests move)
        // plus the scaled growth of the cell that ran plus, for standard attention, the larger score matrices.
        XCTAssertGreaterThan(try XCTUnwrap(rows[3].cells[0].predictedPeakBytes), rows[3].cells[0].baselineBytes)
        XCTAssertNil(rows[0].speedUp(.tome))
        XCTAssertTrue(benchmark.tableLine(rows[3]).contains("OOM (needs ~"))
    }

    func testBadSettingsAreTypedErrors() throws {
        let bad: [(String, (inout UNetBenchmarkSettings) -> Void)] = [
            ("resolutions", { $0.resolutions = [100] }), ("resolutions", { $0.resolutions = [] }),
            ("batches", { $0.batches = [0] }), ("columns", { $0.columns = [] }), ("steps", { $0.steps = 0 }),
            ("warmup", { $0.warmup = -1 }), ("memoryBudget", { $0.memoryBudgetBytes = 0 }),
            ("contextTokens", { $0.contextTokens = 0 }), ("ratio", { $0.options.ratio = 1 }),
        ]
        for (option, change) in bad {
            var settings = UNetBenchmarkSettings()
            change(&settings)
            XCTAssertThrowsError(try settings.validate()) {
                XCTAssertEqual(($0 as? PatchError).map { if case .invalidOption(let name, _) = $0 { return name } else { return "" } }, option)
            }
        }
    }
}
