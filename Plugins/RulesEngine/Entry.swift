import CHubABI
import HubPluginKit

@c(hub_plugin_entry_v1)
public func hubPluginEntry(
    _ major: UInt16, _ minor: UInt16, _ out: UnsafeMutablePointer<UnsafePointer<hub_plugin_desc>?>?
) -> hub_status {
    PluginExport.entry(
        RulesEngine.self,
        info: PluginInfo(id: "orderhub.rules.engine", version: "2.0.0", kind: .rules, threading: .threadSafe),
        stateful: true, major, minor, out)
}
