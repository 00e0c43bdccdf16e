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
        Array(#"{"fired":[{"rule":"hello","effect":"tag"}],"discount_minor":0,"hold":null,"tags":["\#(greeting)"]}"#.utf8)
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
