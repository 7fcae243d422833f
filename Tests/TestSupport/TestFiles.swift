import Foundation

/// Where the package's files are for the tests: the one place that finds them, from this source file's location
/// (`Tests/TestSupport/TestFiles.swift`), so tests run from any working directory.
public enum TestFiles {
    /// The package root (the folder holding `Package.swift`).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures/<relativePath>`: a reference fixture written by a script under `Scripts/reference/`.
    public static func fixture(_ relativePath: String) -> URL {
        packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relativePath)
    }

    /// `<relativePath>` under the package root (a source file or resource the tests compare against).
    public static func packageFile(_ relativePath: String) -> URL {
        packageRoot.appendingPathComponent(relativePath)
    }
}
