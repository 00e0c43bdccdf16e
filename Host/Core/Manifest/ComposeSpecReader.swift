import HubJSON
import HubLoader
import Yams

/// Reads the keys that compose a running hub: a slot's `version` range, `canary` and
/// `fields` grant, and the manifest's `admin` section.
enum ComposeSpecReader {
    static let canaryKeys = ["library", "sha256", "percent", "config"]
    static let adminKeys = ["tokens_file", "open"]

    static func read(_ entry: Node.Mapping, into plugin: inout Manifest.Plugin, place: String, reader: NodeReader, directory: String) {
        if let node = entry["version"], let text = reader.string(node, "\(place).version") {
            if let range = VersionRange(text) { plugin.versionRange = range } else {
                reader.report(node, "\(place).version: '\(text)' is not a semver range (examples: \"^2.1\", \"~1.4.0\", \">=1.2.0 <2.0.0\", \"2.0.3\")")
            }
        }
        if let node = entry["isolation"], let text = reader.string(node, "\(place).isolation") {
            if let isolation = Manifest.Isolation(rawValue: text) {
                if isolation == .process && plugin.kind == .stateBus {
                    reader.report(node, "\(place).isolation: the state bus runs in the hub's process (every commit goes through it); only other plugins can run isolated")
                } else {
                    plugin.isolation = isolation
                }
            } else {
                reader.report(node, "\(place).isolation: '\(text)' is not in_process or process")
            }
        }
        if let node = entry["call_timeout_ms"], let value = reader.int(node, "\(place).call_timeout_ms", range: 100...3_600_000) {
            plugin.callTimeoutMillis = value
            if plugin.isolation != .process { reader.report(node, "\(place).call_timeout_ms: only with isolation: process (an in-process call cannot be cut short)") }
        }
        if let node = entry["canary"] { plugin.canary = readCanary(node, slot: plugin, place: place, reader: reader, directory: directory) }
        if let node = entry["fields"] {
            plugin.fieldsPosition = reader.position(node)
            if plugin.kind == .stateBus {
                reader.report(node, "\(place).fields: the state bus keeps every event whole; grants apply to the plugins that read orders")
                return
            }
            guard case .sequence(let list) = node else {
                reader.report(node, "\(place).fields: expected a list of order fields, e.g. [items, ship_to, shipping]")
                return
            }
            var fields: [String] = []
            for item in list {
                guard let field = reader.string(item, "\(place).fields[]") else { continue }
                if let problem = FieldGrant.problem(with: field) { reader.report(item, "\(place).fields: \(problem)") } else { fields.append(field) }
            }
            plugin.fields = fields
        }
    }

    private static func readCanary(_ node: Node, slot: Manifest.Plugin, place: String, reader: NodeReader, directory: String) -> Manifest.Canary? {
        guard case .mapping(let map) = node else {
            reader.report(node, "\(place).canary: expected a mapping with \(canaryKeys.joined(separator: ", "))")
            return nil
        }
        reader.rejectUnknown(map, allowed: canaryKeys, in: "\(place).canary")
        if slot.kind == .stateBus {
            reader.report(node, "\(place).canary: the state bus has no canary (every order's log lives in one bus; change it with a restart, docs/operations.md)")
        }
        guard let libraryNode = map["library"], let path = reader.string(libraryNode, "\(place).canary.library") else {
            if map["library"] == nil { reader.report(node, "\(place).canary.library: required, path to the new version's .so") }
            return nil
        }
        var sha256: String?
        if let shaNode = map["sha256"] {
            sha256 = reader.string(shaNode, "\(place).canary.sha256")
            if let value = sha256, !(value.utf8.count == 64 && value.allSatisfy(\.isHexDigit)) {
                reader.report(shaNode, "\(place).canary.sha256: expected 64 hex digits, got '\(value)'; run `orderhub manifest pin` to write it")
            }
        } else {
            reader.report(node, "\(place).canary.sha256: required, the new library's checksum; run `orderhub manifest pin \(reader.file)` to write it")
        }
        var percent = 0
        if let n = map["percent"] {
            percent = reader.int(n, "\(place).canary.percent", range: 1...100) ?? 0
        } else {
            reader.report(node, "\(place).canary.percent: required, the share of orders (1-100) the new version serves")
        }
        var config: JSONValue?
        if let configNode = map["config"] {
            if case .mapping = configNode { config = reader.json(configNode) } else { reader.report(configNode, "\(place).canary.config: expected a mapping") }
        }
        let library = ManifestParser.normalize(path.hasPrefix("/") ? path : directory + "/" + path)
        return Manifest.Canary(library: library, sha256: sha256, percent: percent, config: config, position: reader.position(node),
                               sha256Position: map["sha256"].map(reader.position))
    }

    static func readAdmin(_ node: Node, reader: NodeReader, directory: String) -> Manifest.Admin {
        var admin = Manifest.Admin()
        admin.position = reader.position(node)
        guard case .mapping(let map) = node else {
            reader.report(node, "admin: expected a mapping with \(adminKeys.joined(separator: ", "))")
            return admin
        }
        reader.rejectUnknown(map, allowed: adminKeys, in: "admin")
        if let n = map["tokens_file"], let path = reader.string(n, "admin.tokens_file") {
            admin.tokensFile = ManifestParser.normalize(path.hasPrefix("/") ? path : directory + "/" + path)
        }
        if let n = map["open"] {
            if let value = n.bool { admin.open = value } else { reader.report(n, "admin.open: expected true or false") }
        }
        if admin.open && admin.tokensFile != nil { reader.report(node, "admin: `open: true` and `tokens_file` together; choose one") }
        return admin
    }
}
