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
        let candidates = [folder, (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")]
        for directory in candidates {
            let copy = "\(directory)/.\(stem).\(sha256.prefix(16)).so"
            if access(copy, R_OK) == 0 { return copy }
            if write(bytes, to: copy) { return copy }
        }
        throw LoadError(.fileMissing, path: path,
                        "an older build of this library is already loaded and no content-addressed copy could be written beside it or in $TMPDIR")
    }

    /// Writes through a temporary name and renames, so a reader never sees half a library.
    private static func write(_ bytes: [UInt8], to path: String) -> Bool {
        let temporary = path + ".\(getpid()).tmp"
        guard let file = fopen(temporary, "wb") else { return false }
        let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file) == 0
        guard written == bytes.count, closed, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }
}
