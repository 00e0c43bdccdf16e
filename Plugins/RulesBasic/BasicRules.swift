import HubJSON
import HubPluginKit
import Synchronization

/// The first rule engine: loads rule files named in its config and records which rules
/// fired on each order. The rule set is an immutable value swapped as one reference.
final class BasicRules: RulesPlugin {
    private let files: Mutex<[RuleFile]>
    private let evaluated: HostServices.Metric?

    init(context: PluginContext) throws(PluginError) {
        for member in context.config.objectValue ?? [] where !member.key.hasPrefix("_") && member.key != "files" {
            throw .invalid("config: unknown key '\(member.key)' (known: files)")
        }
        guard let paths = context.config["files"]?.arrayValue, !paths.isEmpty else {
            throw .invalid("config.files: required, a list of rule files (JSON)")
        }
        var loaded: [RuleFile] = []
        for (index, path) in paths.enumerated() {
            guard let path = path.stringValue else { throw .invalid("config.files[\(index)]: must be a path string") }
            let resolved = context.resolvePath(path)
            loaded.append(try RuleFile.load(path: resolved, contents: try PluginFiles.read(resolved)))
        }
        files = Mutex(loaded)
        evaluated = try? context.host.defineMetric("rules_evaluated_total", kind: .counter, help: "Orders evaluated")
        context.host.log(.info, "loaded \(loaded.reduce(0) { $0 + $1.rules.count }) rules from \(loaded.count) file(s)")
    }

    func evaluate(_ order: OrderView) throws(PluginError) -> [UInt8] {
        evaluated?.record(1)
        let ruleFiles = files.withLock { $0 }
        let items = order.items
        var discount: Int64 = 0
        var hold: (type: String, reason: String, rule: String)?
        var writer = JSONWriter(capacity: 256)
        writer.object { o in
            o.array("fired") { fired in
                for file in ruleFiles {
                    for rule in file.rules {
                        switch rule {
                        case .thresholdDiscount(let id, let minimum, let amount, let excluded, let excludePresale):
                            let eligible = items.filter {
                                !excluded.contains($0.sku) && !$0.excludedFromDiscounts && !(excludePresale && $0.isPresale)
                            }.reduce(Int64(0)) { $0 + $1.lineTotalMinor }
                            guard eligible >= minimum else { continue }
                            let granted = min(amount, eligible)
                            discount += granted
                            fired.object { f in
                                f.field("rule", id)
                                f.field("version", file.version)
                                f.field("effect", "discount")
                                f.field("discount_minor", granted)
                                f.field("eligible_total_minor", eligible)
                            }
                        case .holdAbove(let id, let limit, let holdType, let reason):
                            guard order.itemsTotalMinor > limit else { continue }
                            if hold == nil { hold = (holdType, reason, id) }
                            fired.object { f in
                                f.field("rule", id)
                                f.field("version", file.version)
                                f.field("effect", "hold")
                                f.field("hold_type", holdType)
                            }
                        }
                    }
                }
            }
            o.field("discount_minor", discount)
            if let hold {
                o.object("hold") { h in
                    h.field("type", hold.type)
                    h.field("reason", hold.reason)
                    h.field("rule", hold.rule)
                }
            } else {
                o.fieldNull("hold")
            }
        }
        return writer.bytes
    }

    /// Hands the loaded rule versions to a successor (hot swap); they are re-read from files.
    func exportState() throws(PluginError) -> (bytes: [UInt8], schema: UInt32)? {
        var writer = JSONWriter()
        let versions = files.withLock { $0.map { ($0.path, $0.version) } }
        writer.object { o in for (path, version) in versions { o.field(path, version) } }
        return (writer.bytes, 1)
    }

    func importState(_ bytes: [UInt8], schema: UInt32) throws(PluginError) {
        guard schema == 1 else { throw .invalid("rules state schema \(schema) is not understood (expected 1)") }
    }

    func health() -> JSONValue? {
        let files = files.withLock { $0 }
        return .object([
            ("rules", .number(String(files.reduce(0) { $0 + $1.rules.count }))),
            ("versions", .array(files.map { .string($0.version) })),
        ])
    }
}
