import Foundation
import XCTest

/// Locates and decodes the reference fixtures under `Tests/Fixtures/sd/`
/// (written by `Scripts/reference/make_pipeline_part_fixtures.py`).
public enum Fixtures {
    /// `Tests/Fixtures/sd/<relativePath>`.
    public static func url(_ relativePath: String) -> URL { TestFiles.fixture("sd/" + relativePath) }

    /// Decodes a JSON fixture.
    public static func json<T: Decodable>(_ type: T.Type, _ relativePath: String) throws -> T {
        let data = try Data(contentsOf: url(relativePath))
        return try JSONDecoder().decode(T.self, from: data)
    }

    /// Copies the folder `source` to `destination`, the files that links point to instead of the links (fixture
    /// folders share some files through relative links, which a copy elsewhere would break).
    public static func copyResolvingLinks(_ source: URL, to destination: URL) throws {
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            let item = source.appendingPathComponent(name).resolvingSymlinksInPath()
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: item.path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                try copyResolvingLinks(item, to: destination.appendingPathComponent(name))
            } else {
                try FileManager.default.copyItem(at: item, to: destination.appendingPathComponent(name))
            }
        }
    }

    /// A fresh empty directory under the system temporary directory, removed when the test case ends.
    public static func temporaryDirectory(for testCase: XCTestCase) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tomesd-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }
}

/// Asserts two float sequences have equal length and differ by at most `tolerance` element-wise.
public func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float, _ message: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(message): element count", file: file, line: line)
    var worst: Float = 0, worstIndex = 0
    for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= worst) {
        worst = abs(a - e)
        worstIndex = i
    }
    XCTAssertLessThanOrEqual(worst, tolerance, "\(message): max |diff| at element \(worstIndex)", file: file, line: line)
}
