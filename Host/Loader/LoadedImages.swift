import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Which file content each path was dlopen'd with. dlopen of a path already mapped returns
/// the mapped image, even when the file was rebuilt since (and libraries are never
/// dlclose'd), so a new build at a known path is opened from a content-addressed copy
/// beside it: `.<name>.<sha256 prefix>.so`, in the same folder so `$ORIGIN` still finds
/// the plugin's sibling libraries. Unchanged files are opened in place.
enum LoadedImages {
    private static let byPath = Mutex<[String: String]>([:])

    static func pathToOpen(_ path: String, sha256: String, bytes: [UInt8]) throws(LoadError) -> String {
        let known = byPath.withLock { table -> String? in
            if let loaded = table[path] { return loaded }
            table[path] = sha256
            return nil
        }
        guard let known, known != sha256 else { return path }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let stem = name.hasSuffix(".so") ? String(name.dropLast(3)) : name
        // Beside the library (its owner's folder), else a folder of this process's own (0700).
        for directory in [folder, privateFolder()].compactMap({ $0 }) {
            let copy = "\(directory)/.\(stem).\(sha256.prefix(16)).so"
            // A copy found there is used only if it is exactly these bytes; else it is replaced.
            if let existing = try? readBytes(copy), SHA256.hex(existing) == sha256 { return copy }
            if write(bytes, to: copy) { return copy }
        }
        throw LoadError(.fileMissing, path: path,
                        "an older build of this library is already loaded and no content-addressed copy could be written beside it or in a private temporary folder")
    }

    /// `$TMPDIR/orderhub-<uid>`, made 0700 and checked to be ours and not a link.
    private static func privateFolder() -> String? {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let folder = "\(base)/orderhub-\(getuid())"
        mkdir(folder, 0o700)
        var info = stat()
        guard lstat(folder, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == getuid(), info.st_mode & 0o077 == 0 else { return nil }
        return folder
    }

    private static func readBytes(_ path: String) throws(LoadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw LoadError(.fileMissing, path: path, "cannot open") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// Writes through a fresh temporary file (created exclusively, never through a link) and
    /// renames it, so a reader never sees half a library and nobody can plant one.
    private static func write(_ bytes: [UInt8], to path: String) -> Bool {
        let temporary = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            guard n > 0 else { break }
            written += n
        }
        let closed = close(fd) == 0
        guard written == bytes.count, closed, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }
}
