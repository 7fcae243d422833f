import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension OutputFile {
    /// Puts the written file in place: see ``commit(_:)``.
    /// - Throws: ``OutputFileError``; the destination is then left as it was.
    public func commit() throws {
        try Self.commit([self])
    }

    /// Puts several written files in place together, so that a failure of any leaves none of them written.
    ///
    /// Everything that can fail for ordinary reasons (a full disk, an I/O error, a destination changed since
    /// ``prepare(path:inputs:otherOutputs:)``) happens for every file before the first is renamed into place:
    /// each is flushed to disk and its destination checked again. Only the renames remain; should one of them
    /// fail, the files already renamed that replaced nothing are removed again (a replaced file cannot be
    /// brought back).
    /// - Throws: ``OutputFileError``; every temporary file is then removed.
    public static func commit(_ files: [OutputFile]) throws {
        var published: [OutputFile] = []
        do {
            for file in files { try file.flush() }
            for file in files { try file.checkDestinationAgain() }
            for file in files {
                try file.publish()
                published.append(file)
            }
        } catch {
            for file in published { file.withdraw() }
            for file in files { file.discard() }
            throw error
        }
    }

    /// Flushes the temporary file's data to disk.
    private func flush() throws {
        guard !finished else { throw OutputFileError.writeFailed(path: path, reason: "already committed or discarded") }
        while fsync(descriptor) != 0 {
            guard errno == EINTR else { throw fail("cannot flush to disk: \(Self.lastError())") }
        }
    }

    /// The output rules once more, on what is at the destination now.
    private func checkDestinationAgain() throws {
        do {
            if let current = try currentTarget() { try checkReplaceable(current) }
        } catch {
            discard()
            throw error
        }
    }

    /// Gives the temporary file a name (when it has none), renames it over the destination and flushes the folder.
    private func publish() throws {
        if temporaryName == nil { try linkUnnamedFile() }
        guard let temporaryName, renameat(folderDescriptor, temporaryName, folderDescriptor, name) == 0 else {
            throw fail("cannot rename the temporary file into place: \(Self.lastError())")
        }
        if let registrySlot { TemporaryFileRegistry.shared.unregister(registrySlot) }
        (self.temporaryName, registrySlot) = (nil, nil)
        var info = stat()
        if fstat(descriptor, &info) == 0 { publishedIdentity = FileIdentity(info) }
        // A failed folder flush is not reported: some file systems cannot flush folders, and the file is in place.
        _ = fsync(folderDescriptor)
        close(descriptor)
        descriptor = -1
        finished = true
    }

    /// Links the unnamed (`O_TMPFILE`) file under a fresh hidden name, registered for removal on a signal.
    /// `linkat` cannot replace a file, hence a temporary name and then `renameat`.
    private func linkUnnamedFile() throws {
        #if os(Linux)
        while true {
            let temporary = Self.temporaryName(for: name)
            let slot = TemporaryFileRegistry.shared.register(folder: folderDescriptor, name: temporary)
            if linkat(AT_FDCWD, Self.procPath(descriptor), folderDescriptor, temporary, AT_SYMLINK_FOLLOW) == 0 {
                (temporaryName, registrySlot) = (temporary, slot)
                return
            }
            let error = errno
            if let slot { TemporaryFileRegistry.shared.unregister(slot) }
            guard error == EEXIST else { throw fail("cannot name the temporary file: \(String(cString: strerror(error)))") }
        }
        #else
        throw fail("no unnamed temporary files on this system")
        #endif
    }

    /// Removes a published file that replaced nothing, after another file of the same commit failed.
    private func withdraw() {
        guard replaced == nil, let publishedIdentity else { return }
        var info = stat()
        if fstatat(folderDescriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0, FileIdentity(info) == publishedIdentity {
            unlinkat(folderDescriptor, name, 0)
        }
    }
}
