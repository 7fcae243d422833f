// swift-tools-version:6.0
// A program that uses swift-tomesd as a library, the way your package would: it depends on the package by path
// (in your own Package.swift, use the `.package(url:from:)` line of the README instead).
//
//   swift run -c release --package-path Examples/DemoConsumer DemoConsumer                  # 2 steps at 64×64
//   swift run -c release --package-path Examples/DemoConsumer DemoConsumer --cancel-after 1 # cancels after step 1
//
// Build it in release: a debug build of the model code runs 50 to 85 times slower.
import PackageDescription

let package = Package(
    name: "DemoConsumer",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "swift-tomesd", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "DemoConsumer",
            dependencies: [
                .product(name: "StableDiffusion", package: "swift-tomesd"),
                .product(name: "DiffusionPatch", package: "swift-tomesd"),
                .product(name: "ImageFiles", package: "swift-tomesd"),
            ],
            path: "Sources"),
    ],
    swiftLanguageModes: [.v5]
)
