import HubPluginKit
import HubRules

/// Admin commands (ABI 1.1 control) behind the hub's /v1/rulesets API.
extension RulesEngine {
    static let commands = [
        "rulesets.list", "rulesets.create", "rulesets.versions", "rulesets.source", "rulesets.publish", "rulesets.rollback",
        "rulesets.simulate", "rulesets.lint", "promotions.usage",
    ]
    static var controlCommands: [String] { commands }

    func control(_ command: String, _ args: JSONValue) throws(PluginError) -> [UInt8] {
        let answer: JSONValue
        switch command {
        case "rulesets.list": answer = .array(try store.ids().map { id throws(PluginError) in try summary(id) })
        case "rulesets.create":
            guard let source = args["source"]?.stringValue, !source.isEmpty else {
                throw .invalid("the ruleset text is empty: send the YAML or JSON of one ruleset")
            }
            let file = args["file"]?.stringValue ?? "ruleset"
            let folders = tableFolders
            // A ruleset sent over HTTP names tables only inside the manifest's and the seeds'
            // folders: no absolute paths, no "..", so it cannot read other files of the host.
            let (ruleset, number) = try store.create(source: source, file: file, note: args["note"]?.stringValue ?? "") { path in
                guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { return nil }
                return folders.lazy.compactMap { Self.readTable(path, besides: $0 + "/") }.first
            }
            let lint = LintReport(ruleset, file: file)
            answer = .object([
                ("ruleset", .string(ruleset.id)), ("version", .number(String(number))), ("status", .string("draft")),
                ("rules", .number(String(ruleset.rules.count))), ("compile_ms", .number(String(Double(ruleset.compileNanos) / 1e6))),
                ("lint", lint.json),
            ])
        case "rulesets.versions":
            let id = try rulesetID(args)
            guard let (index, _) = try store.index(id) else { throw PluginError(8, "no ruleset '\(id)'") }
            var versions: [JSONValue] = []
            for number in stride(from: index.latest, through: 1, by: -1) {
                guard let version = try store.version(id, number) else { continue }
                let status = number == index.live ? "live" : (index.everPublished.contains(number) ? "retired" : "draft")
                versions.append(.object([
                    ("version", .number(String(number))), ("status", .string(status)), ("created_at", .string(version.createdAt)),
                    ("file", .string(version.file)), ("note", .string(version.note)),
                ]))
            }
            answer = .object([("ruleset", .string(id)), ("live", .number(String(index.live))), ("versions", .array(versions))])
        case "rulesets.source":
            let id = try rulesetID(args)
            let liveNumber = try store.index(id)?.0.live
            guard let number = args["version"]?.intValue ?? liveNumber.map(Int64.init),
                  let version = try store.version(id, Int(number)) else { throw PluginError(8, "no such version of '\(id)'") }
            answer = .object([("ruleset", .string(id)), ("version", .number(String(number))), ("source", .string(version.source))])
        case "rulesets.publish", "rulesets.rollback":
            let id = try rulesetID(args)
            let started = host.monotonicNanos()
            let ruleset = try store.publish(id, args["version"]?.intValue.map(Int.init), rollback: command == "rulesets.rollback")
            published(ruleset)
            let elapsed = Double(host.monotonicNanos() - started) / 1e6
            host.log(.info, "ruleset '\(id)': version \(ruleset.version) is live (\(command == "rulesets.rollback" ? "rollback" : "publish"), \(elapsed) ms)")
            answer = .object([
                ("ruleset", .string(id)), ("live", .number(String(ruleset.version))), ("rules", .number(String(ruleset.rules.count))),
                ("publish_ms", .number(String(elapsed))),
            ])
        case "rulesets.simulate":
            let id = try rulesetID(args)
            guard let (index, _) = try store.index(id) else { throw PluginError(8, "no ruleset '\(id)'") }
            let number = args["version"]?.intValue.map(Int.init) ?? index.latest
            let draft = try store.compile(id, number)
            let live = index.live > 0 ? try store.compile(id, index.live) : nil
            let orders = (args["orders"]?.arrayValue ?? []).map { entry in
                Simulator.Order.from(entry["order"] ?? entry, predictions: entry["predictions"],
                                     fallbackNanos: entry["time"]?.stringValue.flatMap(Timestamp.parseRFC3339) ?? 0)
            }
            answer = Simulator.run(before: live, after: draft, orders: orders).json
        case "rulesets.lint":
            let id = try rulesetID(args)
            guard let (index, _) = try store.index(id) else { throw PluginError(8, "no ruleset '\(id)'") }
            let number = args["version"]?.intValue.map(Int.init) ?? index.latest
            answer = LintReport(try store.compile(id, number), file: "\(id) v\(number)").json
        case "promotions.usage":
            let live = store.current
            answer = .array(live.flatMap { set in
                set.rules.filter { $0.promotion != nil }.map { rule in
                    let usage = state.ledger.usage(ruleset: set.id, rule: rule.id)
                    return .object([
                        ("ruleset", .string(set.id)), ("rule", .string(rule.id)), ("redemptions", .number(String(usage.redemptions))),
                        ("given_minor", .number(String(usage.givenMinor))),
                    ])
                }
            })
        default:
            throw PluginError(8, "no admin command '\(command)' (known: \(Self.commands.joined(separator: ", ")))")
        }
        var writer = JSONWriter()
        writer.value(answer)
        return writer.bytes
    }

    private func rulesetID(_ args: JSONValue) throws(PluginError) -> String {
        guard let id = args["ruleset"]?.stringValue, !id.isEmpty else { throw .invalid("'ruleset' (the ruleset id) is required") }
        return id
    }

    private func summary(_ id: String) throws(PluginError) -> JSONValue {
        let index = try store.index(id)?.0
        let live = store.current.first { $0.id == id }
        return .object([
            ("ruleset", .string(id)), ("live", .number(String(index?.live ?? 0))), ("latest", .number(String(index?.latest ?? 0))),
            ("rules", .number(String(live?.rules.count ?? 0))), ("description", .string(live?.description ?? "")),
        ])
    }
}
