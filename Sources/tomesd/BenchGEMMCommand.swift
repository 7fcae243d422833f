import Foundation
import TensorCore

/// `tomesd bench gemm`: times `GEMM.sgemm` (`C = A·B`, row-major, no transposes) on the given shapes and prints
/// the median time and GFLOP/s of each, as a table or as JSON (what `Benchmarks/python/gemm_vs_torch.py` reads).
///
/// By default B is packed on every call (the fp32 `sgemm` of two plain matrices). With `--packed`, or with
/// `--precision bf16` (which implies it), B is packed once before timing, as a layer packs its weight at load.
let benchGEMMCommand = Subcommand(
    name: "bench gemm",
    summary: "time the matrix multiply (GEMM) kernels on given shapes",
    details: "Times GEMM.sgemm (C = A·B, row-major, no transposes) on each shape and prints the median time and "
        + "GFLOP/s, as a table or as JSON (what Benchmarks/python/gemm_vs_torch.py reads). B is packed on every call, "
        + "unless --packed or --precision bf16 packs it once first, as a layer packs its weight at load.",
    options: [
        .value("shapes", "MxNxK,...", default: "4096x320x320,4096x4096x40,4096x1280x320,1024x1024x1024",
               "the shapes to time: C[M×N] = A[M×K] · B[K×N]"),
        .value("repeat", "N", default: "10", "timed runs per shape (after two untimed ones)"),
        .precision,
        .flag("packed", "pack B once before timing, as a layer packs its weight at load (implied by --precision bf16)"),
        .value("kernel", "scalar|avx2|avx512|avx512bf16|neon",
               "force one kernel of the chosen precision (default: the best this CPU has)"),
        .flag("json", "print JSON instead of a table"),
    ]
) { arguments in
    let shapes = try parseGEMMShapes(try arguments.required("shapes"))
    let repeats = try arguments.requiredInt("repeat", in: 1...10_000)
    let precision = try parsePrecision(try arguments.required("precision"))
    if let name = arguments.string("kernel") {
        guard let isa = GEMMKernel.ISA.allCases.first(where: { "\($0)" == name }) else {
            throw UsageError("option --kernel expects scalar, avx2, avx512, avx512bf16 or neon, got '\(name)'")
        }
        switch precision {
        case .fp32:
            guard let kernel = GEMMKernel(isa) else { throw UsageError("option --kernel: '\(name)' is not available on this CPU for fp32") }
            GEMMKernel.setActive(kernel)
        case .bf16:
            guard let kernel = BF16GEMMKernel(isa) else { throw UsageError("option --kernel: '\(name)' is not available on this CPU for bf16") }
            BF16GEMMKernel.setActive(kernel)
        }
    }
    let packed = arguments.flag("packed") || precision == .bf16
    let json = arguments.flag("json")
    try arguments.finish()

    let threads = ThreadPool.shared.threadCount
    let kernelName = precision == .bf16 ? "\(BF16GEMMKernel.active)" : "\(GEMMKernel.active)"
    var results: [[String: Any]] = []
    if !json {
        print("kernel \(kernelName) (\(precision.rawValue)\(packed ? ", B packed once" : "")), \(threads) thread(s), median of \(repeats)")
    }
    for shape in shapes {
        let timing = timeGEMM(shape, repeats: repeats, precision: precision, packed: packed)
        let gflops = 2.0 * Double(shape.m) * Double(shape.n) * Double(shape.k) / (timing.median * 1e6)
        if json {
            results.append(["m": shape.m, "n": shape.n, "k": shape.k, "median_ms": timing.median,
                            "min_ms": timing.minimum, "gflops": gflops, "runs_ms": timing.milliseconds])
        } else {
            let name = "\(shape.m)x\(shape.n)x\(shape.k)".padding(toLength: 18, withPad: " ", startingAt: 0)
            print(name + String(format: "%10.3f ms %9.1f GFLOP/s", timing.median, gflops))
        }
    }
    if json {
        let document: [String: Any] = ["kernel": kernelName, "precision": precision.rawValue, "packed": packed,
                                       "threads": threads, "results": results]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// One GEMM shape: `C[m×n] = A[m×k] · B[k×n]`.
struct GEMMShape {
    let m: Int, n: Int, k: Int
}

/// Parses `MxNxK,MxNxK,...` (positive integers).
func parseGEMMShapes(_ text: String) throws -> [GEMMShape] {
    try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
        let sizes = item.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard sizes.count == 3, let m = sizes[0], let n = sizes[1], let k = sizes[2], m > 0, n > 0, k > 0 else {
            throw UsageError("option --shapes expects MxNxK with positive integers, got '\(item)' in '\(text)'")
        }
        let products = [(m, k), (k, n), (m, n)].map { $0.multipliedReportingOverflow(by: $1) }
        guard products.allSatisfy({ !$0.overflow && $0.partialValue <= maxBenchFloats }),
              products.map(\.partialValue).reduce(0, +) <= maxBenchFloats else {
            throw UsageError("option --shapes: '\(item)' needs more than \(maxBenchFloats >> 28) GiB for A, B and C")
        }
        return GEMMShape(m: m, n: n, k: k)
    }
}

/// The most floats `bench gemm` allocates for one shape's A, B and C together (4 GiB).
private let maxBenchFloats = 1 << 30

private func timeGEMM(_ shape: GEMMShape, repeats: Int, precision: Precision, packed: Bool) -> BenchTiming {
    // Any values will do; a cheap deterministic sequence in [-1, 1) keeps set-up fast for large shapes.
    let values = { (count: Int, seed: Int) in (0..<count).map { Float(($0 &* 7919 &+ seed) % 2001) / 1000 - 1 } }
    let a = values(shape.m * shape.k, 1)
    let b = values(shape.k * shape.n, 2)
    var c = [Float](repeating: 0, count: shape.m * shape.n)
    return a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                guard packed else {
                    return BenchTiming(repeats: repeats) {
                        GEMM.sgemm(m: shape.m, n: shape.n, k: shape.k, a: a.baseAddress!, lda: shape.k,
                                   b: b.baseAddress!, ldb: shape.n, c: c.baseAddress!, ldc: shape.n)
                    }
                }
                let weight = PackedMatrix(k: shape.k, n: shape.n, b: b.baseAddress!, ldb: shape.n, precision: precision)
                return BenchTiming(repeats: repeats) {
                    GEMM.sgemm(m: shape.m, a: a.baseAddress!, lda: shape.k, b: weight, c: c.baseAddress!, ldc: shape.n)
                }
            }
        }
    }
}
