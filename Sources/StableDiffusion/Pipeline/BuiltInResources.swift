import Foundation
import TensorCore

/// Files shipped inside the package's resource bundle (`Sources/StableDiffusion/Resources`).
///
/// SwiftPM copies them into `swift-tomesd_StableDiffusion.resources` (Linux) or `.bundle` (macOS) beside the
/// executable. They are looked up here rather than through the generated `Bundle.module`, which stops the process
/// when the bundle is missing; a missing file is a thrown error instead.
enum BuiltInResources {
    /// The bundle folder names SwiftPM uses for this target.
    static let bundleNames = ["swift-tomesd_StableDiffusion.resources", "swift-tomesd_StableDiffusion.bundle"]

    /// The bytes of the resource `name`.
    /// - Throws: ``PipelineError/missingComponent(folder:component:reason:)`` naming the places searched.
    static func data(named name: String) throws -> Data {
        let executableFolder = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let roots = [Bundle.main.bundleURL, Bundle.main.resourceURL, executableFolder].compactMap { $0 }
        var searched: [String] = []
        for root in roots {
            for bundle in bundleNames {
                for folder in [root.appendingPathComponent(bundle), root.appendingPathComponent(bundle + "/Contents/Resources")] {
                    let url = folder.appendingPathComponent(name)
                    searched.append(folder.path)
                    if let data = try? RegularFile.contents(atPath: url.path) { return data }
                }
            }
        }
        throw PipelineError.missingComponent(
            folder: searched.first ?? ".", component: name,
            reason: "the package's resource bundle is not beside the executable (searched \(searched.joined(separator: ", ")))")
    }
}
