import CHubABI
import HubPluginKit
import Synchronization

/// An example connector in Swift over the same C ABI as the C HTTP connector: it "delivers"
/// by remembering the order (a stand-in for a system it would call), takes status callbacks
/// authenticated by a shared token in `X-Token`, and answers status queries from what the
/// callbacks said. It shows the kit's ABI 1.2 connector protocols; it speaks no network.
final class HelloConnector: CallbackConnectorPlugin, StatusQueryConnectorPlugin {
    private let token: String
    private let known = Mutex<[String: String]>([:])

    init(context: PluginContext) throws(PluginError) {
        guard let token = context.config["token"]?.stringValue, !token.isEmpty else {
            throw .invalid("config.token: required, the shared token callers send in X-Token")
        }
        self.token = token
    }

    func deliver(_ event: EventView) throws(PluginError) -> [UInt8] {
        known.withLock { $0[event.subject.string] = "received" }
        return Array(#"{"accepted":true}"#.utf8)
    }

    func inbound(_ event: EventView, headers: [String: String], body: [UInt8]) throws(PluginError) -> [UInt8] {
        guard let sent = headers["x-token"] else { throw .denied("missing X-Token header") }
        guard sent == token else { throw .denied("X-Token does not match config.token") }
        guard let data = try? JSONParser.parse(event.data.array), let order = data["order"]?.stringValue,
              let status = data["status"]?.stringValue else { throw .invalid("expected data {\"order\": ..., \"status\": ...}") }
        known.withLock { $0[order] = status }
        return answer(order, status)
    }

    func queryStatus(_ context: [UInt8]) throws(PluginError) -> [UInt8] {
        guard let order = (try? JSONParser.parse(context))?["order_id"]?.stringValue else { throw .invalid("expected {\"order_id\": ...}") }
        guard let status = known.withLock({ $0[order] }) else { throw .notFound("no status for \(order)") }
        return answer(order, status)
    }

    /// Our status words are already lifecycle states, except "received".
    private func answer(_ order: String, _ status: String) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { o in
            o.field("order_id", order)
            o.field("status", status)
            o.field("state", status == "received" ? "acknowledged" : status)
            o.field("exception", false)
        }
        return writer.bytes
    }
}

@c(hub_plugin_entry_v1)
public func helloConnectorEntry(_ major: UInt16, _ minor: UInt16, _ out: UnsafeMutablePointer<UnsafePointer<hub_plugin_desc>?>?) -> hub_status {
    PluginExport.entry(
        HelloConnector.self, info: PluginInfo(id: "example.connector.hello", version: "0.1.0", kind: .connector, threading: .threadSafe),
        major, minor, out)
}
