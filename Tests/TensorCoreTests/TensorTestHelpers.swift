import Foundation
@testable import TensorCore
import TestSupport

/// SplitMix64: a tiny deterministic generator, so every test sees the same "random" data on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A tensor of values uniform in [-1, 1), reproducible from `seed`.
func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let count = shape.reduce(1, *)
    return try! Tensor(shape: shape, scalars: (0..<count).map { _ in Float.random(in: -1..<1, using: &generator) })
}

/// Every multi-index of `shape`, in row-major order.
func allIndices(_ shape: [Int]) -> [[Int]] {
    guard !shape.contains(0) else { return [] }
    var result: [[Int]] = [[]]
    for size in shape { result = result.flatMap { prefix in (0..<size).map { prefix + [$0] } } }
    return result
}

/// The row-major offset of `index` in `shape`.
func offset(of index: [Int], in shape: [Int]) -> Int {
    zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
}

/// A file under Tests/Fixtures/tensorcore/.
func fixtureURL(_ name: String) -> URL { TestFiles.fixture("tensorcore/" + name) }

/// A fresh path in the temporary directory (the file is not created).
func temporaryURL(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("tensorcore-\(UUID().uuidString)-\(name)")
}
