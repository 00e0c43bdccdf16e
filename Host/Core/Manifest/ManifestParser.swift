import HubJSON
import HubLoader
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// Reads a manifest and reports every problem with its position, not just the first.
public enum ManifestParser {
    public static let topLevelKeys = ["version", "listen", "plugins", "pipeline", "fulfillment_health", "admin"]
    public static let pluginKeys = ["kind", "library", "sha256", "config", "subscribes", "retry", "description", "concurrency", "circuit", "reconcile", "version", "canary", "fields", "isolation", "call_timeout_ms"]
    public static let retryKeys = ["max_attempts", "initial_backoff_ms", "max_backoff_ms"]

    public static func load(path: String) throws(ManifestError) -> Manifest {
        let absolute = absolutePath(path)
        guard let text = readText(absolute) else {
            throw ManifestError(problems: [.init(position: .init(file: path, line: 1, column: 1), message: "cannot read manifest: \(String(cString: strerror(errno)))")])
        }
        return try parse(text, path: path, directory: directoryOf(absolute))
    }

    public static func parse(_ text: String, path: String, directory: String) throws(ManifestError) -> Manifest {
        let reader = NodeReader(file: path)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ManifestError(problems: [reader.problem(for: error)])
        } catch {
            throw ManifestError(problems: [.init(position: .init(file: path, line: 1, column: 1), message: "\(error)")])
        }
        guard let root, case .mapping(let top) = root else {
            throw ManifestError(problems: [.init(position: .init(file: path, line: 1, column: 1), message: "a manifest is a mapping with keys \(topLevelKeys.joined(separator: ", "))")])
        }
        let manifest = build(top, root: root, reader: reader, directory: directory, path: path)
        guard reader.problems.isEmpty, let manifest else { throw ManifestError(problems: reader.problems) }
        return manifest
    }

    private static func build(_ top: Node.Mapping, root: Node, reader: NodeReader, directory: String, path: String) -> Manifest? {
        reader.rejectUnknown(top, allowed: topLevelKeys, in: "manifest")
        if let version = top["version"] {
            if version.int != 1 { reader.report(version, "version: \(version.string ?? "?") is not supported; this hub reads manifest version 1") }
        } else {
            reader.report(root, "version: required (write `version: 1`)")
        }
        let listen = top["listen"].flatMap { reader.string($0, "listen") }
        var plugins: [Manifest.Plugin] = []
        if let pluginsNode = top["plugins"] {
            if case .mapping(let entries) = pluginsNode {
                for (key, value) in entries {
                    guard let slot = reader.string(key, "plugins key") else { continue }
                    if let plugin = PluginSpecReader.read(slot: slot, value, reader: reader, directory: directory) {
                        plugins.append(plugin)
                    }
                }
            } else {
                reader.report(pluginsNode, "plugins: expected a mapping of slot name to plugin")
            }
        } else {
            reader.report(root, "plugins: required, a mapping of slot name to plugin")
        }
        let pipeline = checkComposition(top, root: root, plugins: plugins, reader: reader)
        var manifest = Manifest(path: path, directory: directory, listen: listen, plugins: plugins, pipeline: pipeline)
        if let node = top["fulfillment_health"] { manifest.fulfillmentHealth = ConnectorPolicyReader.readHealth(node, reader: reader) }
        if let node = top["admin"] { manifest.admin = ComposeSpecReader.readAdmin(node, reader: reader, directory: directory) }
        return manifest
    }

    /// One state bus; pipeline names rules/predictor slots that exist.
    private static func checkComposition(_ top: Node.Mapping, root: Node, plugins: [Manifest.Plugin], reader: NodeReader) -> [String] {
        let buses = plugins.filter { $0.kind == .stateBus }
        if buses.count > 1 {
            reader.report(at: buses[1].position, "plugins.\(buses[1].slot): a hub has exactly one state_bus; '\(buses[0].slot)' is already one")
        } else if buses.isEmpty, top["plugins"] != nil {
            reader.report(top["plugins"]!, "plugins: no plugin of kind state_bus; a hub needs exactly one")
        }
        var pipeline: [String] = []
        guard let node = top["pipeline"] else { return [] }
        guard case .sequence(let steps) = node else {
            reader.report(node, "pipeline: expected a list of slot names, e.g. [rules, predictor]")
            return []
        }
        for step in steps {
            guard let slot = reader.string(step, "pipeline entry") else { continue }
            guard let plugin = plugins.first(where: { $0.slot == slot }) else {
                reader.report(step, "pipeline: '\(slot)' is not a slot under plugins (have: \(plugins.map(\.slot).joined(separator: ", ")))")
                continue
            }
            guard plugin.kind == .rules || plugin.kind == .predictor else {
                reader.report(step, "pipeline: '\(slot)' is a \(plugin.kind.name); only rules and predictor plugins run in the intake pipeline")
                continue
            }
            if pipeline.contains(slot) { reader.report(step, "pipeline: '\(slot)' is listed twice") }
            pipeline.append(slot)
        }
        return pipeline
    }

    public static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let cwd = getcwd(&buffer, buffer.count).map { String(cString: $0) } ?? "."
        return normalize(cwd + "/" + path)
    }

    /// Removes "." and "x/.." segments so paths in messages read well.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func directoryOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes.append(contentsOf: chunk[0..<count])
            if count < chunk.count { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
