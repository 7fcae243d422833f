// swift-tools-version:6.0
// swift-tomesd: Token Merging for Stable Diffusion, in Swift.
//
// Layers (arrows are imports):
//   CKernels (C micro-kernels) -> TensorCore -> ToMe / StableDiffusion -> DiffusionPatch -> tomesd (CLI)
//   CCUDA (C shim, dlopen'ed CUDA driver + NVRTC) -> ToMe (optional GPU backend)
//
// No third-party packages and no unsafe compiler flags: the package must stay usable as a versioned dependency.
import PackageDescription

let package = Package(
    name: "swift-tomesd",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "ToMe", targets: ["ToMe"]),
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
        .target(name: "ToMe", dependencies: ["TensorCore", "CKernels", "CCUDA"]),
        // Resources: CLIP's BPE merges (gzip'd, ~200 KB) for the built-in demo pipeline of `tomesd generate`.
        .target(name: "StableDiffusion", dependencies: ["TensorCore", "CKernels"],
                resources: [.copy("Resources/clip_merges.txt.gz")]),
        .target(name: "DiffusionPatch", dependencies: ["ToMe", "StableDiffusion"]),
        .executableTarget(name: "tomesd", dependencies: ["TensorCore", "ToMe", "StableDiffusion", "DiffusionPatch"]),

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"]),
        .testTarget(name: "ToMeTests", dependencies: ["ToMe"]),
        .testTarget(name: "StableDiffusionTests", dependencies: ["StableDiffusion"]),
        .testTarget(name: "DiffusionPatchTests", dependencies: ["DiffusionPatch"]),
        // XCTest benchmarks: skipped unless TOMESD_BENCHMARKS=1 (see README), so `swift test` stays fast.
        .testTarget(name: "Benchmarks", dependencies: ["TensorCore", "ToMe", "StableDiffusion", "DiffusionPatch"], path: "Benchmarks",
                    exclude: ["gemm_vs_torch.py", "merge_vs_tomesd.py", "pipeline_vs_diffusers.py", "unet_load_vs_read.py", "unet_tome_vs_diffusers.py",
                              "unet_vs_diffusers.py"]),
    ],
    swiftLanguageModes: [.v5]
)
