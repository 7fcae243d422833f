import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One output file of a run, written so that nothing is destroyed and nothing is left half-written.
///
/// Use it in three steps:
/// 1. ``prepare(path:inputs:otherOutputs:)`` before the work starts. It applies the output rules and reserves a
///    temporary file in the destination folder, so a long run never ends in "cannot write". The rules: an
///    existing path must be a regular file (a folder, device such as `/dev/null`, FIFO or socket is refused); a
///    symbolic link is refused, never followed or replaced; the file must not be one of the run's inputs nor
///    another output of the run (compared by device and inode, so no spelling of a path gets around it).
/// 2. ``write(_:)`` the content, as many times as needed.
/// 3. ``commit()`` (or ``commit(_:)`` for several outputs together): flush the data to disk (`fsync`), check the
///    destination again, rename the file into place and flush the folder. Readers see the old file or the whole
///    new one. ``discard()`` (or releasing the object) instead drops the temporary file.
///
/// On Linux the temporary file has no name until the commit (`O_TMPFILE`), so a process killed at any moment
/// leaves nothing behind; the commit gives it a hidden name (`.NAME.tomesd-….tmp`) and renames it at once, a
/// window of two system calls. Where unnamed files are not supported the temporary file is named from the
/// start; a signal handler can remove it with ``removeTemporaryFiles()`` (the `tomesd` CLI does so on SIGINT,
/// SIGTERM and SIGHUP).
public final class OutputFile {
    /// The destination, as given.
    public let path: String
    let folder: String
    let name: String
    let folderDescriptor: Int32
    let folderIdentity: FileIdentity
    /// The file at `path` when prepared, nil when there was none.
    var replaced: FileIdentity?
    /// Every input file of the run, with its identity.
    let inputFiles: [(path: String, identity: FileIdentity)]
    /// The temporary file, open for writing; -1 once committed or discarded.
    var descriptor: Int32 = -1
    /// The temporary file's name while it has one.
    var temporaryName: String?
    /// Its slot in ``TemporaryFileRegistry`` while it has one.
    var registrySlot: Int?
    /// The identity of the file put in place by the commit.
    var publishedIdentity: FileIdentity?
    var finished = false

    /// Whether unnamed temporary files (Linux `O_TMPFILE`) may be used; tests turn this off to exercise the
    /// named fallback.
    nonisolated(unsafe) static var unnamedTemporaryFilesAllowed = true

    private init(path: String, folder: String, name: String, folderDescriptor: Int32, folderIdentity: FileIdentity,
                 inputFiles: [(path: String, identity: FileIdentity)]) {
        self.path = path
        self.folder = folder
        self.name = name
        self.folderDescriptor = folderDescriptor
        self.folderIdentity = folderIdentity
        self.inputFiles = inputFiles
    }

    deinit {
        discard()
        close(folderDescriptor)
    }

    /// Checks that `path` may be written and reserves its temporary file.
    /// - Parameters:
    ///   - inputs: the run's input files; a folder stands for every file in it and its subfolders, two levels
    ///     deep (a model folder).
    ///   - otherOutputs: the run's other outputs, which must be other files.
    /// - Throws: ``OutputFileError`` naming `path` (and the input or output it collides with).
    public static func prepare(path: String, inputs: [String] = [], otherOutputs: [OutputFile] = []) throws -> OutputFile {
        guard !path.isEmpty else { throw OutputFileError.cannotCreate(path: path, reason: "the path is empty") }
        let (folder, name) = split(path)
        guard !name.isEmpty else {
            var info = stat()
            if stat(path, &info) == 0, FileKind(mode: info.st_mode) == .directory {
                throw OutputFileError.notRegularFile(path: path, kind: FileKind.directory.described)
            }
            throw OutputFileError.cannotCreate(path: path, reason: "the path ends with '/', so it names no file")
        }
        let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folderDescriptor >= 0 else {
            let reason = errno == ENOENT ? "the folder \(folder) does not exist"
                : errno == ENOTDIR ? "\(folder) is not a folder" : "cannot open the folder \(folder): \(lastError())"
            throw OutputFileError.cannotCreate(path: path, reason: reason)
        }
        var folderInfo = stat()
        fstat(folderDescriptor, &folderInfo)
        let file = OutputFile(path: path, folder: folder, name: name, folderDescriptor: folderDescriptor,
                              folderIdentity: FileIdentity(folderInfo), inputFiles: inputs.flatMap(FileIdentity.inputFiles))
        let current = try file.currentTarget()
        if let current { try file.checkReplaceable(current) }
        file.replaced = current.map(FileIdentity.init)
        for other in otherOutputs {
            let sameFile = file.replaced != nil && file.replaced == other.replaced
            if sameFile || (file.folderIdentity == other.folderIdentity && file.name == other.name) {
                throw OutputFileError.sameFileAsOtherOutput(path: path, other: other.path)
            }
        }
        try file.createTemporary(mode: current.map { $0.st_mode & 0o777 })
        return file
    }

    /// Prepares `path`, writes `bytes` and commits: one whole file written safely.
    /// - Throws: ``OutputFileError``.
    public static func write(_ bytes: [UInt8], toPath path: String, inputs: [String] = []) throws {
        let file = try prepare(path: path, inputs: inputs)
        try file.write(bytes)
        try file.commit()
    }

    /// Appends `bytes` to the temporary file.
    /// - Throws: ``OutputFileError/writeFailed(path:reason:)``; the temporary file is then discarded.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends the bytes of `buffer` to the temporary file.
    /// - Throws: ``OutputFileError/writeFailed(path:reason:)``; the temporary file is then discarded.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard !finished else { throw OutputFileError.writeFailed(path: path, reason: "already committed or discarded") }
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let written = systemWrite(descriptor, base + done, buffer.count - done)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw fail(Self.lastError()) }
            done += written
        }
    }

    /// Drops the temporary file; the destination stays as it was. Called on release too.
    public func discard() {
        guard !finished else { return }
        finished = true
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        if let temporaryName { unlinkat(folderDescriptor, temporaryName, 0) }
        temporaryName = nil
        if let registrySlot { TemporaryFileRegistry.shared.unregister(registrySlot) }
        registrySlot = nil
    }

    /// Removes every named temporary file of this process's uncommitted outputs. Safe to call from a signal
    /// handler (no allocation, no lock); call it once before installing the handler, which also sets up the
    /// storage it reads.
    public static func removeTemporaryFiles() {
        TemporaryFileRegistry.shared.removeAll()
    }

    /// What is at the destination now (`lstat`: a link is examined, not followed); nil when nothing is there.
    func currentTarget() throws -> stat? {
        var info = stat()
        if fstatat(folderDescriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 { return info }
        if errno == ENOENT { return nil }
        throw OutputFileError.cannotCreate(path: path, reason: Self.lastError())
    }

    /// The output rules for an existing destination: a regular file that is none of the inputs.
    func checkReplaceable(_ info: stat) throws {
        switch FileKind(mode: info.st_mode) {
        case .regular:
            if let input = inputFiles.first(where: { $0.identity == FileIdentity(info) }) {
                throw OutputFileError.sameFileAsInput(path: path, input: input.path)
            }
        case .symbolicLink:
            var target = [CChar](repeating: 0, count: 4097)
            let count = readlinkat(folderDescriptor, name, &target, 4096)
            let text = count >= 0 ? String(decoding: target.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
            throw OutputFileError.symbolicLink(path: path, target: text)
        case let kind:
            throw OutputFileError.notRegularFile(path: path, kind: kind.described)
        }
    }

    /// Discards the temporary file and returns the error to throw for `reason`.
    func fail(_ reason: String) -> OutputFileError {
        discard()
        return .writeFailed(path: path, reason: reason)
    }

    /// Creates the temporary file: unnamed where the system allows, else under a fresh hidden name.
    private func createTemporary(mode: mode_t?) throws {
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        if Self.unnamedTemporaryFilesAllowed {
            let unnamed = openat(folderDescriptor, ".", O_DIRECTORY | 0o20000000 | O_WRONLY | O_CLOEXEC, mode ?? 0o644)
            // Naming it later goes through /proc; without /proc, fall back to a named file.
            if unnamed >= 0, access(Self.procPath(unnamed), F_OK) == 0 {
                descriptor = unnamed
                if let mode { fchmod(unnamed, mode) }
                return
            }
            if unnamed >= 0 { close(unnamed) }
        }
        #endif
        while true {
            let temporary = Self.temporaryName(for: name)
            let slot = TemporaryFileRegistry.shared.register(folder: folderDescriptor, name: temporary)
            let created = openat(folderDescriptor, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode ?? 0o644)
            if created >= 0 {
                (descriptor, temporaryName, registrySlot) = (created, temporary, slot)
                if let mode { fchmod(created, mode) }
                return
            }
            let error = errno
            if let slot { TemporaryFileRegistry.shared.unregister(slot) }
            guard error == EEXIST else {
                throw OutputFileError.cannotCreate(path: path, reason: "cannot create a file in \(folder): \(String(cString: strerror(error)))")
            }
        }
    }

    /// A fresh hidden name beside `name`: `.NAME.tomesd-<16 hex digits>.tmp`, at most 255 bytes.
    static func temporaryName(for name: String) -> String {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var stem = Array(name.utf8.prefix(200))
        while !stem.isEmpty, String(validating: stem, as: UTF8.self) == nil { stem.removeLast() }
        return "." + String(decoding: stem, as: UTF8.self) + ".tomesd-" + random + ".tmp"
    }

    /// `/proc/self/fd/N`, the path that names an open descriptor's file on Linux.
    static func procPath(_ descriptor: Int32) -> String { "/proc/self/fd/\(descriptor)" }

    /// The folder and last component of `path` ("." for a bare name).
    private static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = slash == path.startIndex ? "/" : String(path[..<slash])
        return (folder, String(path[path.index(after: slash)...]))
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}

/// POSIX `write(2)` (the name is taken inside ``OutputFile``).
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, bytes, count) }
