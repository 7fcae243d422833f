import Foundation

/// The PNG files `tomesd generate --output FILE` writes: FILE itself for one image; for N > 1 images
/// (`--num-images N`), FILE's name with `-0`, `-1`, … `-(N-1)` before its extension, in the same folder
/// (`out.png` → `out-0.png`, `out-1.png`; `out` → `out-0`, `out-1`), image i being diffusers' `images[i]`.
enum ImageOutputNames {
    /// The paths for `count` images written to `output`.
    static func urls(for output: URL, count: Int) -> [URL] {
        guard count > 1 else { return [output] }
        let folder = output.deletingLastPathComponent()
        let pathExtension = output.pathExtension
        let stem = output.deletingPathExtension().lastPathComponent
        return (0..<count).map { index in
            let name = "\(stem)-\(index)" + (pathExtension.isEmpty ? "" : "." + pathExtension)
            return folder.appendingPathComponent(name)
        }
    }
}
