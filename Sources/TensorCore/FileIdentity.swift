import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file's identity: its device and inode numbers. Two paths name the same file exactly when their identities
/// agree, whatever the spelling of the paths (relative, `..`, symbolic links on the way, hard links).
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64

    init(_ info: stat) {
        device = UInt64(truncatingIfNeeded: info.st_dev)
        inode = UInt64(truncatingIfNeeded: info.st_ino)
    }

    /// The identity of what `path` names, following symbolic links; nil when nothing is there (or it cannot be
    /// examined).
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    /// Most files looked at below one input folder (a bound, so that a folder such as `/` costs milliseconds).
    static let folderEntryLimit = 100_000

    /// The files an input path stands for, with their identities: the file itself, or for a folder (a model
    /// folder) every file in it and in its subfolders, two levels deep (`model/unet/config.json`).
    static func inputFiles(_ path: String) -> [(path: String, identity: FileIdentity)] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        guard FileKind(mode: info.st_mode) == .directory else { return [(path, FileIdentity(info))] }
        var found: [(path: String, identity: FileIdentity)] = []
        var budget = folderEntryLimit
        collect(folder: path, depth: 2, budget: &budget, into: &found)
        return found
    }

    /// Appends the files of `folder` (and of its subfolders, `depth` levels down) to `found`.
    private static func collect(folder: String, depth: Int, budget: inout Int,
                                into found: inout [(path: String, identity: FileIdentity)]) {
        guard let directory = opendir(folder) else { return }
        defer { closedir(directory) }
        while budget > 0, let entry = readdir(directory) {
            budget -= 1
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            switch FileKind(mode: info.st_mode) {
            case .directory where depth > 0: collect(folder: path, depth: depth - 1, budget: &budget, into: &found)
            case .directory: continue
            default: found.append((path, FileIdentity(info)))
            }
        }
    }
}
