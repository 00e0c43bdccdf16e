import HubJSON
import HubLoader

extension Hub {
    /// What serves each slot now (GET /v1/admin/composition, and the audit log's before/after):
    /// {"manifest", "pipeline", "slots": {slot: {"kind","id","version","sha256","library","fields",
    /// "canary": {"id","version","sha256","percent"}}}}.
    public var compositionSummary: JSONValue {
        func describe(_ instance: any PluginHandle) -> [(key: String, value: JSONValue)] {
            [("id", .string(instance.descriptor.id)), ("version", .string(instance.descriptor.version)),
             ("sha256", .string(instance.sha256)), ("library", .string(instance.libraryPath)), ("isolation", .string(instance.isolation))]
        }
        let running = manifest
        var slots: [(key: String, value: JSONValue)] = [(plugins.bus.slot, .object([("kind", .string("state_bus"))] + describe(plugins.bus)))]
        for slot in plugins.slots {
            let routing = slot.current
            var members: [(key: String, value: JSONValue)] = [("kind", .string(slot.kind.name))] + describe(routing.primary)
            members.append(("fields", routing.spec.fields.map { .array($0.map(JSONValue.string)) } ?? .string("all")))
            if let canary = routing.canary {
                members.append(("canary", .object(describe(canary) + [("percent", .number(String(routing.percent)))])))
            }
            slots.append((slot.name, .object(members)))
        }
        return .object([
            ("manifest", .string(running.path)),
            ("pipeline", .array(running.pipeline.map(JSONValue.string))),
            ("slots", .object(slots)),
        ])
    }
}
