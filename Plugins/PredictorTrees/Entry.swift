import CHubABI
import HubPluginKit

@c(hub_plugin_entry_v1)
public func hubPluginEntry(
    _ major: UInt16, _ minor: UInt16, _ out: UnsafeMutablePointer<UnsafePointer<hub_plugin_desc>?>?
) -> hub_status {
    PluginExport.entry(
        TreePredictor.self,
        info: PluginInfo(id: "orderhub.predictor.trees", version: "0.1.0", kind: .predictor, threading: .threadSafe),
        major, minor, out)
}
