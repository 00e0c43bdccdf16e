import CHubABI
import HubPluginKit

/// The smallest useful Swift plugin (docs/plugin-author-guide.md): a rules plugin that tags
/// every order with a greeting taken from its config.
final class HelloRules: RulesPlugin {
    let greeting: String

    init(context: PluginContext) throws(PluginError) {
        greeting = context.config["greeting"]?.stringValue ?? "hello"
    }

    func evaluate(_ order: OrderView) throws(PluginError) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { o in
            o.array("fired") { a in a.object { f in f.field("rule", "hello"); f.field("effect", "tag") } }
            o.field("discount_minor", Int64(0))
            o.fieldNull("hold")
            o.array("tags") { a in a.element(greeting) }
        }
        return writer.bytes
    }
}

@c(hub_plugin_entry_v1)
public func hubPluginEntry(
    _ major: UInt16, _ minor: UInt16, _ out: UnsafeMutablePointer<UnsafePointer<hub_plugin_desc>?>?
) -> hub_status {
    PluginExport.entry(
        HelloRules.self, info: PluginInfo(id: "example.rules.hello", version: "0.1.0", kind: .rules, threading: .threadSafe),
        major, minor, out)
}
