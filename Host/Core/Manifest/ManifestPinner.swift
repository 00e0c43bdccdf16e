import HubLoader

#if canImport(Glibc)
import Glibc
#endif

/// `orderhub manifest pin`: writes each plugin's current sha256 into the manifest, in place,
/// keeping comments and layout. A rebuilt plugin gets a new checksum with every build; this
/// is how an admin accepts it, deliberately, instead of the loader skipping the check.
/// Only the values change: comments (also on the sha256 lines) and layout stay.
public enum ManifestPinner {
    public struct Change: Sendable {
        public let slot: String
        public let old: String?
        public let new: String
    }

    public static func pin(path: String) throws -> [Change] {
        let absolute = ManifestParser.absolutePath(path)
        var source = ManifestParser.readText(absolute) ?? ""
        let manifest: Manifest
        do {
            manifest = try ManifestParser.load(path: path)
        } catch {
            // Missing pins are the one problem pinning fixes; anything else must be fixed first.
            let blocking = error.problems.filter { !$0.message.contains("sha256: required") }
            guard blocking.isEmpty else { throw error }
            source = placeholderPins(source, error.problems)
            manifest = try ManifestParser.parse(source, path: path, directory: ManifestParser.directoryOf(absolute))
        }
        var lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var changes: [Change] = []
        // Every pinned library: each slot's, and its canary's.
        let pins = manifest.plugins.flatMap { spec -> [(slot: String, library: String, old: String?, position: Manifest.Position)] in
            var found: [(slot: String, library: String, old: String?, position: Manifest.Position)] = []
            if let position = spec.sha256Position { found.append((spec.slot, spec.library, spec.sha256, position)) }
            if let canary = spec.canary, let position = canary.sha256Position { found.append((spec.slot + ".canary", canary.library, canary.sha256, position)) }
            return found
        }
        for pin in pins {
            let position = pin.position
            let digest = try PluginLibrary(path: pin.library, expectedSHA256: nil).sha256
            let index = position.line - 1
            // Replace just the value: keep what follows it (a trailing comment, say).
            let line = lines[index]
            let before = String(line.prefix(position.column - 1))
            let from = line.dropFirst(position.column - 1)
            let old = pin.old ?? ""
            let after = !old.isEmpty && from.hasPrefix(old) ? String(from.dropFirst(old.count)) : ""
            lines[index] = before + digest + after
            if pin.old != digest {
                changes.append(Change(slot: pin.slot, old: pin.old == placeholder ? nil : pin.old, new: digest))
            }
        }
        guard let file = fopen(absolute, "wb") else {
            throw PinError(message: "\(path): cannot write: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        let output = lines.joined(separator: "\n")
        _ = output.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, file) }
        return changes
    }

    static let placeholder = String(repeating: "0", count: 64)

    /// Parses a manifest whose pins are missing by inserting placeholder pins in memory.
    private static func placeholderPins(_ text: String, _ problems: [ManifestError.Problem]) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for problem in problems.sorted(by: { $0.position.line > $1.position.line }) {
            let index = problem.position.line - 1
            guard index < lines.count else { continue }
            let indent = String(repeating: " ", count: max(0, problem.position.column - 1))
            lines.insert(indent + "sha256: " + placeholder, at: index + 1)
        }
        return lines.joined(separator: "\n")
    }
}

public struct PinError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
