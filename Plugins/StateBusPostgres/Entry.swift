import CHubABI
import HubPluginKit

/// The one exported symbol: hands the host this plugin's descriptor.
@c(hub_plugin_entry_v1)
public func hubPluginEntry(
    _ major: UInt16, _ minor: UInt16, _ out: UnsafeMutablePointer<UnsafePointer<hub_plugin_desc>?>?
) -> hub_status {
    PluginExport.entry(
        PostgresBus.self,
        info: PluginInfo(id: "orderhub.bus.postgres", version: "1.0.0", kind: .stateBus, threading: .threadSafe),
        major, minor, out)
}
