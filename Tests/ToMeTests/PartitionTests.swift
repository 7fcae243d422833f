import XCTest
@testable import ToMe

final class PartitionTests: XCTestCase {
    func testSplitMix64MatchesTheReferenceSequence() {
        // Reference outputs of SplitMix64 (Vigna's splitmix64.c) for seed 0.
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(generator.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(generator.next(), 0x06C4_5D18_8009_454F)
    }

    func testBoundedDrawsAreUniformAndInRange() {
        var generator = SplitMix64(seed: 42)
        var counts = [Int](repeating: 0, count: 9)
        for _ in 0..<90_000 { counts[Int(generator.next(below: 9))] += 1 }
        for count in counts { XCTAssertEqual(Double(count), 10_000, accuracy: 500) }
    }

    func testSameSeedSamePartition() throws {
        var a = SplitMix64(seed: 7), b = SplitMix64(seed: 7), c = SplitMix64(seed: 8)
        let pa = try Partition(height: 16, width: 16, sx: 2, sy: 2, using: &a)
        let pb = try Partition(height: 16, width: 16, sx: 2, sy: 2, using: &b)
        let pc = try Partition(height: 16, width: 16, sx: 2, sy: 2, using: &c)
        XCTAssertEqual(pa, pb)
        XCTAssertNotEqual(pa.cellChoices, pc.cellChoices)
        XCTAssertTrue(pa.cellChoices.allSatisfy { (0..<4).contains($0) })
    }

    func testNoRandomTakesEachCellsFirstToken() throws {
        let partition = try Partition(height: 4, width: 6, sx: 3, sy: 2)
        XCTAssertEqual(partition.destinationTokens, [0, 3, 12, 15])
        XCTAssertEqual(partition.sourceTokens.count, 20)
    }

    func testExplicitChoicesAndLeftoverRowsAndColumnsAreSources() throws {
        // 5×7 grid, 2×2 cells: cells cover rows 0..<4 and columns 0..<6; row 4 and column 6 are always sources.
        let choices = [0, 1, 2, 3, 3, 2]  // row-major over the 2×3 cells; choice k = (row k / 2, column k % 2)
        let partition = try Partition(height: 5, width: 7, sx: 2, sy: 2, cellChoices: choices)
        let expected: [Int32] = [0, 3, 11, 22, 24, 25]
        XCTAssertEqual(partition.destinationTokens, expected)
        XCTAssertEqual(Set(partition.sourceTokens).union(partition.destinationTokens).count, 35)
        for token in Int32(28)..<35 { XCTAssertTrue(partition.sourceTokens.contains(token), "bottom row token \(token)") }
        for row in Int32(0)..<5 { XCTAssertTrue(partition.sourceTokens.contains(row * 7 + 6), "right column row \(row)") }
    }

    func testStrideOneMakesEveryTokenADestination() throws {
        let partition = try Partition(height: 3, width: 4, sx: 1, sy: 1)
        XCTAssertEqual(partition.destinationTokens, (0..<12).map(Int32.init))
        XCTAssertTrue(partition.sourceTokens.isEmpty)
    }
}
