import HubJSON
import HubLoader
import Yams

/// Reads one `plugins.<slot>` entry.
enum PluginSpecReader {
    static func read(slot: String, _ node: Node, reader: NodeReader, directory: String) -> Manifest.Plugin? {
        let place = "plugins.\(slot)"
        guard isSlotName(slot) else {
            reader.report(node, "\(place): slot names are lower-case letters, digits, '_' or '-', starting with a letter")
            return nil
        }
        guard case .mapping(let entry) = node else {
            reader.report(node, "\(place): expected a mapping with kind, library, sha256, config")
            return nil
        }
        reader.rejectUnknown(entry, allowed: ManifestParser.pluginKeys, in: place)
        var kind: PluginDescriptor.Kind?
        if let kindNode = entry["kind"] {
            if let name = reader.string(kindNode, "\(place).kind") {
                kind = PluginDescriptor.Kind(name: name)
                if kind == nil {
                    let names = PluginDescriptor.Kind.allCases.map(\.name).joined(separator: ", ")
                    reader.report(kindNode, "\(place).kind: '\(name)' is not one of \(names)")
                }
            }
        } else {
            reader.report(node, "\(place).kind: required")
        }
        guard let libraryNode = entry["library"] else {
            reader.report(node, "\(place).library: required, path to the plugin's .so")
            return nil
        }
        let library = reader.string(libraryNode, "\(place).library").map { path in
            ManifestParser.normalize(path.hasPrefix("/") ? path : directory + "/" + path)
        }
        var sha256: String?
        if let shaNode = entry["sha256"] {
            sha256 = reader.string(shaNode, "\(place).sha256")
            if let value = sha256, !(value.utf8.count == 64 && value.allSatisfy(\.isHexDigit)) {
                reader.report(shaNode, "\(place).sha256: expected 64 hex digits, got '\(value)'; run `orderhub manifest pin` to write it")
            }
        } else {
            reader.report(node, "\(place).sha256: required, the library's checksum; run `orderhub manifest pin \(reader.file)` to write it")
        }
        var config = JSONValue.object([])
        if let configNode = entry["config"] {
            if case .mapping = configNode { config = reader.json(configNode) } else {
                reader.report(configNode, "\(place).config: expected a mapping")
            }
        }
        let subscribes = readSubscribes(entry["subscribes"], kind: kind, place: place, reader: reader)
        let retry = readRetry(entry["retry"], place: place, reader: reader)
        let policy = ConnectorPolicyReader.read(entry, kind: kind, place: place, reader: reader)
        guard let kind, let library else { return nil }
        var plugin = Manifest.Plugin(
            slot: slot, kind: kind, library: library, sha256: sha256, config: config, subscribes: subscribes, retry: retry,
            position: reader.position(node), libraryPosition: reader.position(libraryNode),
            sha256Position: entry["sha256"].map(reader.position), connector: policy)
        ComposeSpecReader.read(entry, into: &plugin, place: place, reader: reader, directory: directory)
        return plugin
    }

    private static func readSubscribes(_ node: Node?, kind: PluginDescriptor.Kind?, place: String, reader: NodeReader) -> [String] {
        guard let node else { return kind == .connector ? [EventTypes.dispatchRequested] : [] }
        guard kind == .connector else {
            reader.report(node, "\(place).subscribes: only connectors subscribe in the manifest (plugins of other kinds call subscribe themselves)")
            return []
        }
        guard case .sequence(let list) = node else {
            reader.report(node, "\(place).subscribes: expected a list of event types")
            return []
        }
        return list.compactMap { item in
            guard let type = reader.string(item, "\(place).subscribes[]") else { return nil }
            if !EventTypes.deliverable.contains(type) {
                reader.report(item, "\(place).subscribes: '\(type)' is not an event type the hub delivers to connectors (known: \(EventTypes.deliverable.joined(separator: ", ")))")
            }
            return type
        }
    }

    private static func readRetry(_ node: Node?, place: String, reader: NodeReader) -> Manifest.RetryPolicy {
        var retry = Manifest.RetryPolicy()
        guard let node else { return retry }
        guard case .mapping(let map) = node else {
            reader.report(node, "\(place).retry: expected a mapping with \(ManifestParser.retryKeys.joined(separator: ", "))")
            return retry
        }
        reader.rejectUnknown(map, allowed: ManifestParser.retryKeys, in: "\(place).retry")
        if let n = map["max_attempts"], let v = reader.int(n, "\(place).retry.max_attempts", range: 1...100) { retry.maxAttempts = v }
        if let n = map["initial_backoff_ms"], let v = reader.int(n, "\(place).retry.initial_backoff_ms", range: 1...600_000) {
            retry.initialBackoffMillis = v
        }
        if let n = map["max_backoff_ms"], let v = reader.int(n, "\(place).retry.max_backoff_ms", range: 1...3_600_000) {
            retry.maxBackoffMillis = v
        }
        return retry
    }
}

/// Lower-case letters, digits, '_' or '-', starting with a letter, at most 63 characters.
func isSlotName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.unicodeScalars.count <= 63 else { return false }
    return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
}
