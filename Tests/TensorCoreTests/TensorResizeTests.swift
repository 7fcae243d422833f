import TensorCore
import TestSupport
import XCTest

/// `Tensor.resizedNHWC` against PyTorch (`Tests/Fixtures/todo/resize.safetensors`, written by
/// `Scripts/reference/make_todo_fixtures.py`): every method, odd and equal sizes, two upsamplings.
final class TensorResizeTests: XCTestCase {
    func testEveryMethodMatchesPyTorch() throws {
        let file = try SafeTensorsFile(contentsOf: TestFiles.fixture("todo/resize.safetensors"))
        let names = file.tensorNames.filter { $0.hasSuffix(".input") }.map { String($0.dropLast(".input".count)) }
        XCTAssertGreaterThanOrEqual(names.count, 55)
        var methodsSeen = Set<ResizeMethod>()
        for name in names {
            let methodName = ResizeMethod.allCases.map(\.rawValue).filter { name.hasPrefix($0 + "-") }
                .max { $0.count < $1.count }
            let method = try XCTUnwrap(methodName.flatMap(ResizeMethod.init(rawValue:)), name)
            methodsSeen.insert(method)
            let input = try file.tensor("\(name).input").permuted([0, 2, 3, 1])
            let expected = try file.tensor("\(name).output").permuted([0, 2, 3, 1])
            let output = try input.resizedNHWC(height: expected.shape[1], width: expected.shape[2], method: method)
            XCTAssertEqual(output.shape, expected.shape, name)
            let worst = zip(output.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5, name)
        }
        XCTAssertEqual(methodsSeen, Set(ResizeMethod.allCases))
    }

    func testNearestPicksPixelCentres() throws {
        // 1 × 6 row of 0...5 to 3: nearest-exact takes the centres 1, 3, 5; nearest the starts 0, 2, 4.
        let row = try Tensor(shape: [1, 1, 6, 1], scalars: [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try row.resizedNHWC(height: 1, width: 3, method: .nearestExact).scalars, [1, 3, 5])
        XCTAssertEqual(try row.resizedNHWC(height: 1, width: 3, method: .nearest).scalars, [0, 2, 4])
        XCTAssertEqual(try row.resizedNHWC(height: 1, width: 3, method: .bilinear).scalars, [0.5, 2.5, 4.5])
    }

    func testBadSizesThrow() throws {
        let map = Tensor(zeros: [1, 5, 8, 2])
        XCTAssertThrowsError(try map.resizedNHWC(height: 0, width: 2, method: .bilinear))
        XCTAssertThrowsError(try Tensor(zeros: [5, 8, 2]).resizedNHWC(height: 2, width: 2, method: .bilinear))
        // Pooling 5 × 8 with the kernel 5 / 2 = 2 gives 2 × 4, not 2 × 3.
        XCTAssertThrowsError(try map.resizedNHWC(height: 2, width: 3, method: .avgPool))
        XCTAssertThrowsError(try map.resizedNHWC(height: 6, width: 8, method: .maxPool))
        XCTAssertEqual(try map.resizedNHWC(height: 2, width: 4, method: .avgPool).shape, [1, 2, 4, 2])
    }
}
