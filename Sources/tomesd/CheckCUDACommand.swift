import Foundation
import TensorCore
import ToMe
import ToMeCUDA
import ToMeCUDAParity

/// `tomesd check-cuda`: checks the CUDA backend against the CPU on this machine (identical plans, equal outputs)
/// over built-in hard cases and, optionally, tomesd fixture files; optionally times it.
let checkCUDACommand = Subcommand(
    name: "check-cuda",
    summary: "check the CUDA backend against the CPU (identical plans, equal outputs); optionally time it",
    details: "Runs built-in hard cases (and, with --fixtures, tomesd fixture files) on the CPU and on a CUDA GPU and "
        + "checks that the merge plans are identical and the outputs equal. Exit code 1 when a case disagrees.",
    options: [
        .value("device", "N", default: "0", "the CUDA device index"),
        .value("fixtures", "DIR", "also check the tomesd fixture files in DIR"),
        .flag("large", "include the large synthetic cases"),
        .flag("bench", "also time match + merge + unmerge on the GPU"),
        .flag("bench-only", "only time, skip the checks"),
        .value("grids", "G,...", default: "64,128", "grid sizes to time (at least 2)"),
        .value("repeats", "R", default: "20", "timed runs per grid"),
        .flag("profile", "also time each kernel (synchronised)"),
        .value("match-rows", "64|128", default: "0", "rows per matching block (0: chosen by the device)"),
        .value("match-splits", "S", default: "0", "column splits of the matching (0: chosen by the device)"),
    ]
) { arguments in
    let index = try arguments.requiredInt("device")
    let fixtures = arguments.string("fixtures")
    let large = arguments.flag("large"), profile = arguments.flag("profile")
    let benchOnly = arguments.flag("bench-only")
    let bench = arguments.flag("bench") || benchOnly
    let grids = try arguments.requiredInts("grids")
    let repeats = try arguments.requiredInt("repeats", in: 1...10_000)
    let matchRows = try arguments.requiredInt("match-rows"), matchSplits = try arguments.requiredInt("match-splits")
    try arguments.finish()
    guard grids.allSatisfy({ $0 >= 2 && $0 <= 4096 }) else { throw UsageError("option --grids needs sizes in 2...4096") }
    guard [0, 64, 128].contains(matchRows) else { throw UsageError("option --match-rows must be 64 or 128") }
    guard matchSplits >= 0 else { throw UsageError("option --match-splits must not be negative") }
    CUDAKernels.setMatchTuning(rows: matchRows, splits: matchSplits)

    let device = try CUDADevice(index)
    let info = try device.info()
    let compileStart = ProcessMetrics.now()
    try device.prepare()
    let compileMilliseconds = ProcessMetrics.seconds(since: compileStart) * 1e3
    print("device \(device): \(info.name), compute \(info.computeCapability.major).\(info.computeCapability.minor), "
        + "\(info.multiprocessors) SMs; kernels compiled in \(String(format: "%.0f", compileMilliseconds)) ms")

    if bench {
        for size in grids {
            let timing = CUDAMergeTiming(batch: 2, height: size, width: size, channels: 320, ratio: 0.5,
                                         repeats: repeats)
            let times = try timing.run(device: device)
            var line = String(format: "cuda match+merge+unmerge B=2 C=320 %dx%d (N=%d) ratio 0.5: median %.3f ms, "
                + "min %.3f ms over %d runs", size, size, size * size, CUDAMergeTiming.median(times),
                times.min() ?? .nan, times.count)
            if profile {
                CUDAKernels.setProfiling(true)
                _ = try CUDAMergeTiming(batch: 2, height: size, width: size, channels: 320, ratio: 0.5, repeats: 3)
                    .run(device: device)
                line += "\n  per kernel (synchronised): " + CUDAKernels.profileSummary
                CUDAKernels.setProfiling(false)
            }
            print(line)
            print(String(format: "{\"backend\": \"cuda\", \"grid\": %d, \"tokens\": %d, \"median_ms\": %.4f, "
                + "\"min_ms\": %.4f, \"match_rows\": %d, \"match_splits\": %d}", size, size * size,
                CUDAMergeTiming.median(times), times.min() ?? .nan, matchRows, matchSplits))
        }
    }

    var reports: [CUDAParityReport] = []
    if !benchOnly {
        if let fixtures {
            reports += try CUDAParity.fixtureReports(directory: URL(fileURLWithPath: fixtures), device: device)
        }
        reports += CUDAParity.syntheticReports(device: device, includeLarge: large)
        for report in reports { print(report) }
        print("parity: \(reports.filter(\.passed).count) of \(reports.count) cases identical")
    }
    let failed = reports.filter { !$0.passed }.count
    if failed > 0 { throw CheckFailure(description: "\(failed) parity case(s) failed") }
}

/// A check that ran and found a disagreement (exit code 1).
struct CheckFailure: Error, CustomStringConvertible {
    let description: String
}
