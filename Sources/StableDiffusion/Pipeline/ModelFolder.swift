import Foundation

/// Locating the files of a diffusers model folder, with errors that name what is missing.
enum ModelFolder {
    /// `folder/name`, which must be a file.
    /// - Throws: ``WeightError/missingFile(path:reason:)`` naming the folder and the file.
    static func file(_ name: String, in folder: URL) throws -> URL {
        try requireFolder(folder)
        let url = folder.appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw WeightError.missingFile(path: folder.path, reason: "no \(name)")
        }
        return url
    }

    /// The first of `candidates` present in `folder`.
    /// - Throws: ``WeightError/missingFile(path:reason:)`` listing the names tried.
    static func weightFile(in folder: URL, candidates: [String]) throws -> URL {
        try requireFolder(folder)
        guard let url = candidates.map({ folder.appendingPathComponent($0) })
            .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw WeightError.missingFile(path: folder.path, reason: "no weight file: expected one of "
                + candidates.joined(separator: ", ") + " (PyTorch .bin and sharded checkpoints are not supported)")
        }
        return url
    }

    /// Throws unless `url` is an existing folder.
    /// - Throws: ``WeightError/missingFile(path:reason:)``.
    static func requireFolder(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw WeightError.missingFile(path: url.path, reason: "does not exist")
        }
        guard isDirectory.boolValue else { throw WeightError.missingFile(path: url.path, reason: "not a folder") }
    }
}
