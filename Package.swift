// swift-tools-version:6.0
// swift-tomesd: Token Merging for Stable Diffusion, in Swift.
//
// Layers (arrows are imports; a library carries nothing its users do not need):
//   CKernels (C micro-kernels) -> TensorCore (tensors, safetensors, user files read and written safely)
//   TensorCore -> ToMe (CPU matching and merging)
//   TensorCore -> ImageFiles (PNG, DEFLATE) -> StableDiffusion (models, tokenizer, schedulers, pipeline)
//   ToMe, StableDiffusion -> DiffusionPatch (tomesd's apply_patch / remove_patch, through the model's hooks)
//   ToMe, CCUDA (C shim, dlopen'ed CUDA driver + NVRTC) -> ToMeCUDA (optional GPU backend) -> ToMeCUDAParity
//   DiffusionPatch -> UNetBenchmarking (the UNet benchmark table and its FLOP model)
//   everything -> tomesd (CLI); UNetBenchmarking -> Benchmarks (XCTest benchmarks)
// Process metrics (wall and CPU time, peak memory) are TensorCore's `ProcessMetrics`, `package` access: the
// pipeline's stage timings, the benchmarks and the CLI share it. Cross-target internals are `package`, not public.
//
// No third-party packages and no unsafe compiler flags: the package must stay usable as a versioned dependency.
import PackageDescription

let package = Package(
    name: "swift-tomesd",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "ToMe", targets: ["ToMe"]),
        .library(name: "ToMeCUDA", targets: ["ToMeCUDA"]),
        .library(name: "ImageFiles", targets: ["ImageFiles"]),
        .library(name: "StableDiffusion", targets: ["StableDiffusion"]),
        .library(name: "DiffusionPatch", targets: ["DiffusionPatch"]),
        .executable(name: "tomesd", targets: ["tomesd"]),
    ],
    targets: [
        // C only: per-ISA micro-kernels picked once at run time. No policy, no allocation.
        .target(name: "CKernels"),
        // C shim over the CUDA driver API and NVRTC, both dlopen'ed: builds without CUDA.
        .target(name: "CCUDA", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(name: "TensorCore", dependencies: ["CKernels"]),
        .target(name: "ToMe", dependencies: ["TensorCore", "CKernels"]),
        .target(name: "ToMeCUDA", dependencies: ["ToMe", "TensorCore", "CCUDA"]),
        // The CPU/CUDA agreement check behind `tomesd check-cuda` and the CUDA tests (not a product).
        .target(name: "ToMeCUDAParity", dependencies: ["ToMeCUDA", "ToMe", "TensorCore"]),
        .target(name: "ImageFiles", dependencies: ["TensorCore"]),
        // Resources: CLIP's BPE merges (gzip'd, ~200 KB) for the built-in demo pipeline of `tomesd generate`.
        .target(name: "StableDiffusion", dependencies: ["TensorCore", "CKernels", "ImageFiles"],
                resources: [.copy("Resources/clip_merges.txt.gz")]),
        .target(name: "DiffusionPatch", dependencies: ["ToMe", "StableDiffusion", "TensorCore"]),
        // The UNet benchmark table, its FLOP model and process metrics (not a product).
        .target(name: "UNetBenchmarking", dependencies: ["DiffusionPatch", "StableDiffusion", "ToMe", "TensorCore"]),
        .executableTarget(name: "tomesd", dependencies: ["TensorCore", "ToMe", "ToMeCUDA", "ToMeCUDAParity", "ImageFiles",
                                                         "StableDiffusion", "DiffusionPatch", "UNetBenchmarking"]),

        // Where the test fixtures are, for every test target.
        .target(name: "TestSupport", dependencies: ["TensorCore", "ImageFiles"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "ToMeTests", dependencies: ["ToMe", "TestSupport"]),
        .testTarget(name: "ToMeCUDATests", dependencies: ["ToMeCUDA", "ToMeCUDAParity", "TestSupport"]),
        .testTarget(name: "ImageFilesTests", dependencies: ["ImageFiles", "TensorCore", "TestSupport"]),
        .testTarget(name: "StableDiffusionTests", dependencies: ["StableDiffusion", "TestSupport"]),
        .testTarget(name: "DiffusionPatchTests", dependencies: ["DiffusionPatch", "TestSupport"]),
        .testTarget(name: "UNetBenchmarkingTests", dependencies: ["UNetBenchmarking", "TestSupport"]),
        // Runs the `tomesd` executable that `swift build` puts beside the test bundle.
        .testTarget(name: "tomesdTests", dependencies: ["StableDiffusion", "ImageFiles", "TensorCore", "TestSupport"]),
        // XCTest benchmarks: skipped unless TOMESD_BENCHMARKS=1 (see README), so `swift test` stays fast.
        .testTarget(name: "Benchmarks", dependencies: ["TensorCore", "ToMe", "StableDiffusion", "DiffusionPatch",
                                                       "UNetBenchmarking"],
                    path: "Benchmarks/Swift"),
    ],
    swiftLanguageModes: [.v5]
)
