import DiffusionPatch
import Foundation
import TensorCore
import UNetBenchmarking
import XCTest

/// tomesd's benchmark table (resolution × batch; Vanilla, ToMe, ToMe + memory-efficient attention; or the ToDo columns) for an SD 1.5-sized UNet
/// with seeded random weights. Run in release:
///
///     TOMESD_BENCHMARKS=1 swift test -c release --filter UNetBenchmarks
///
/// Environment: `TOMESD_BENCH_ARCHITECTURE` (sd15, the default, or sdxl: SDXL base's UNet, 10.3 GB of fp32
/// weights), `TOMESD_BENCH_RESOLUTIONS` (default 512; tomesd's table has 512,768,1024), `TOMESD_BENCH_BATCHES`
/// (default 1,2; tomesd's has 1,2,4), `TOMESD_BENCH_RATIO` (0.5), `TOMESD_BENCH_MAX_DOWNSAMPLE` (1),
/// `TOMESD_BENCH_STEPS` (3), `TOMESD_BENCH_WARMUP` (1), `TOMESD_BENCH_COLUMNS` (vanilla, tome,
/// tome-memory-efficient; memory-efficient adds the unpatched memory-efficient baseline; todo and todo-memory-efficient
/// add Token Downsampling's columns), `TOMESD_BENCH_METHOD=todo` (Vanilla, ToDo, ToDo + memory-efficient attention in
/// place of the ToMe columns), `TOMESD_BENCH_DOWNSAMPLE_FACTOR` (2), `TOMESD_BENCH_DOWNSAMPLE_METHOD` (nearest-exact;
/// the ToDo columns use `TOMESD_BENCH_MAX_DOWNSAMPLE` too), `TOMESD_MEMORY_BUDGET_GIB` (three quarters of the physical memory): a cell whose peak
/// memory would exceed it reads "OOM", `TOMESD_BENCH_CPU_TIME=1` (report CPU time ÷ threads, for a machine shared
/// with other work). `TOMESD_NUM_THREADS` sets the threads. `tomesd bench unet` prints the same.
final class UNetBenchmarks: XCTestCase {
    private let environment = ProcessInfo.processInfo.environment

    override func setUpWithError() throws {
        guard environment["TOMESD_BENCHMARKS"] == "1" else {
            throw XCTSkip("benchmarks run only with TOMESD_BENCHMARKS=1")
        }
    }

    private func list(_ name: String) throws -> [Int]? {
        guard let text = environment[name] else { return nil }
        return try text.split(separator: ",").map { try XCTUnwrap(Int($0), "\(name)=\(text) is not a list of integers") }
    }

    private func number(_ name: String) throws -> Double? {
        guard let text = environment[name] else { return nil }
        return try XCTUnwrap(Double(text), "\(name)=\(text) is not a number")
    }

    private func settings() throws -> UNetBenchmarkSettings {
        var settings = UNetBenchmarkSettings()
        if let name = environment["TOMESD_BENCH_ARCHITECTURE"] {
            settings.architecture = try XCTUnwrap(UNetBenchmarkArchitecture(rawValue: name),
                                                  "TOMESD_BENCH_ARCHITECTURE: unknown architecture \(name)")
        }
        settings.resolutions = try list("TOMESD_BENCH_RESOLUTIONS") ?? settings.resolutions
        settings.batches = try list("TOMESD_BENCH_BATCHES") ?? settings.batches
        settings.options.ratio = try number("TOMESD_BENCH_RATIO") ?? settings.options.ratio
        settings.options.maxDownsample = try number("TOMESD_BENCH_MAX_DOWNSAMPLE").map(Int.init) ?? settings.options.maxDownsample
        settings.steps = try number("TOMESD_BENCH_STEPS").map(Int.init) ?? settings.steps
        settings.warmup = try number("TOMESD_BENCH_WARMUP").map(Int.init) ?? settings.warmup
        settings.downsampling.maxDownsample = settings.options.maxDownsample
        settings.downsampling.factor = try number("TOMESD_BENCH_DOWNSAMPLE_FACTOR").map(Int.init) ?? settings.downsampling.factor
        if let name = environment["TOMESD_BENCH_DOWNSAMPLE_METHOD"] {
            settings.downsampling.method = try XCTUnwrap(ResizeMethod(rawValue: name), "TOMESD_BENCH_DOWNSAMPLE_METHOD=\(name)")
        }
        if environment["TOMESD_BENCH_METHOD"] == "todo" { settings.columns = UNetBenchmarkColumn.todoTable }
        if environment["TOMESD_BENCH_CPU_TIME"] == "1" { settings.clock = .cpu }
        if let budget = try number("TOMESD_MEMORY_BUDGET_GIB") { settings.memoryBudgetBytes = Int(budget * 1_073_741_824) }
        if let names = environment["TOMESD_BENCH_COLUMNS"] {
            settings.columns = try names.split(separator: ",").map {
                try XCTUnwrap(UNetBenchmarkColumn(rawValue: String($0)), "TOMESD_BENCH_COLUMNS: unknown column \($0)")
            }
        }
        return settings
    }

    func testSeedTable() throws {
        let benchmark = try UNetBenchmark(settings: try settings())
        report(benchmark.heading + "\n\n" + benchmark.tableHeader)
        let rows = try benchmark.run { report(benchmark.tableLine($0)) }
        XCTAssertEqual(rows.count, benchmark.settings.resolutions.count * benchmark.settings.batches.count)
        for row in rows {
            for cell in row.cells where !cell.isOutOfMemory {
                XCTAssertGreaterThan(cell.medianSeconds ?? 0, 0)
                if cell.column.isPatched, benchmark.settings.options.ratio > 0 {
                    XCTAssertGreaterThan(cell.tokensMergedPerStep ?? 0, 0, "\(row.resolution)² × \(row.batch): ToMe merges")
                }
                if cell.column.isDownsampled, benchmark.settings.downsampling.factor > 1 {
                    XCTAssertNotNil(cell.overheadSeconds, "\(row.resolution)² × \(row.batch): ToDo ran")
                }
            }
        }
    }
}
