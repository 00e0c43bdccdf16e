import CHubABI
import HubJSON

/// Connector calls (hub_connector_api_v1): deliveries, inbound status callbacks and status
/// queries for reconciliation. The last two are ABI 1.2 and read only when the plugin's
/// table is large enough to hold them.
extension PluginInstance {
    /// A failed delivery, with the wait the external system asked for (Retry-After), if any.
    public struct DeliveryFailure: Error, Sendable, CustomStringConvertible {
        public let error: PluginCallError
        public let retryAfterMillis: Int?
        public var description: String { error.description + (retryAfterMillis.map { " (retry after \($0) ms)" } ?? "") }

        public init(error: PluginCallError, retryAfterMillis: Int?) {
            self.error = error
            self.retryAfterMillis = retryAfterMillis
        }
    }

    /// Delivers one event; returns the external system's acknowledgement.
    public func deliver(_ event: BusEvent) throws(DeliveryFailure) -> [UInt8] {
        guard let deliver = function(hub_connector_api_v1.self, \.deliver) else { throw DeliveryFailure(error: missing("deliver"), retryAfterMillis: nil) }
        let arena = Arena()
        let abiEvent = arena.event(event)
        var out = hub_buf()
        defer { _ = take(&out) }
        do {
            try call("deliver") { deliver(inst, abiEvent, &out) }
        } catch {
            let hint = take(&out)
            let wait = (try? JSONParser.parse(hint))?["retry_after_ms"]?.intValue
            throw DeliveryFailure(error: error, retryAfterMillis: wait.map { Int(max(0, min($0, 3_600_000))) })
        }
        return take(&out)
    }

    /// True when the connector translates status callbacks (ABI 1.2 `inbound`).
    public var acceptsCallbacks: Bool { function(hub_connector_api_v1.self, \.inbound) != nil }
    /// True when the connector can ask its system for an order's status (ABI 1.2 `query_status`).
    public var answersStatusQueries: Bool { function(hub_connector_api_v1.self, \.query_status) != nil }

    /// Checks and translates a status callback. `requestJSON` carries the headers; `rawBody`
    /// is what the sender signed.
    public func inbound(_ event: BusEvent, requestJSON: [UInt8], rawBody: [UInt8]) throws(PluginCallError) -> [UInt8] {
        guard let inbound = function(hub_connector_api_v1.self, \.inbound) else { throw missing("inbound") }
        let arena = Arena()
        let abiEvent = arena.event(event)
        var out = hub_buf()
        defer { _ = take(&out) }
        try requestJSON.withUnsafeBufferPointer { request throws(PluginCallError) in
            try rawBody.withUnsafeBufferPointer { body throws(PluginCallError) in
                try call("inbound") {
                    inbound(inst, abiEvent, hub_bytes(ptr: request.baseAddress, len: request.count),
                            hub_bytes(ptr: body.baseAddress, len: body.count), &out)
                }
            }
        }
        return take(&out)
    }

    /// Asks the external system for an order's status; `contextJSON` is {"order_id","ack"}.
    public func queryStatus(_ contextJSON: [UInt8]) throws(PluginCallError) -> [UInt8] {
        guard let query = function(hub_connector_api_v1.self, \.query_status) else { throw missing("query_status") }
        var out = hub_buf()
        defer { _ = take(&out) }
        try contextJSON.withUnsafeBufferPointer { context throws(PluginCallError) in
            try call("query_status") { query(inst, hub_bytes(ptr: context.baseAddress, len: context.count), &out) }
        }
        return take(&out)
    }
}
