import XCTest
@testable import TensorCore

final class SafeTensorsRoundTripTests: XCTestCase {
    func testWriteThenReadGivesTheSameTensors() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("roundtrip-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let x = try Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, .pi, -0.25])
        try SafeTensors.write(entries: ["x": .float32(x), "idx": .int64(shape: [3], values: [7, -1, 1 << 40])],
                              to: url, metadata: ["format": "pt"])
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.tensorNames, ["idx", "x"])
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(try file.tensor("x"), x)
        XCTAssertEqual(try file.integers("idx"), [7, -1, 1 << 40])
        XCTAssertThrowsError(try file.tensor("idx"))
        XCTAssertThrowsError(try file.tensor("missing")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .tensorNotFound(path: url.path, tensor: "missing"))
        }
    }
}
