import Foundation
import TensorCore
import TestSupport
@testable import ToMe

/// One case written by Scripts/reference/make_tome_fixtures.py from tomesd 0.1.3.
struct TomesdFixture {
    let name: String
    let height, width, sx, sy, r: Int
    let ratio: Double
    let random: Bool
    let x, merged, restored: Tensor
    /// `[B][N - r]`: the token identifying each of tomesd's merged rows.
    let mergedToken: [Int]
    /// `[B][N]`: -1 destination, -2 kept source, t >= 0 merged into destination token t.
    let role: [Int]
    let cellChoices: [Int]

    static var directory: URL { TestFiles.fixture("tome") }

    static func all() throws -> [TomesdFixture] {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        return try files.filter { $0.pathExtension == "safetensors" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
            .map(TomesdFixture.init(url:))
    }

    init(url: URL) throws {
        let file = try SafeTensorsFile(contentsOf: url)
        func meta(_ key: String) throws -> String {
            guard let value = file.metadata[key] else { throw ToMeError.invalidArgument(argument: url.lastPathComponent, reason: "has no \(key)") }
            return value
        }
        name = url.deletingPathExtension().lastPathComponent
        height = Int(try meta("h"))!
        width = Int(try meta("w"))!
        sx = Int(try meta("sx"))!
        sy = Int(try meta("sy"))!
        r = Int(try meta("r"))!
        ratio = Double(try meta("ratio"))!
        random = try meta("random") == "1"
        x = try file.tensor("x")
        merged = try file.tensor("merged")
        restored = try file.tensor("restored")
        mergedToken = try file.integers("merged_token")
        role = try file.integers("role")
        cellChoices = try file.integers("cell_choices")
    }

    var partition: Partition {
        get throws { try Partition(height: height, width: width, sx: sx, sy: sy, cellChoices: cellChoices) }
    }
}
