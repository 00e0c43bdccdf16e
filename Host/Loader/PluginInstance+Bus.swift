import CHubABI
import HubJSON

/// State-bus calls (hub_bus_api_v1).
extension PluginInstance {
    /// Appends events and idempotency records in one durable transaction; returns the last offset.
    public func append(_ events: [BusEvent], records: [IdempotencyRecord] = []) throws(PluginCallError) -> UInt64 {
        guard let append = function(hub_bus_api_v1.self, \.append) else { throw missing("append") }
        let arena = Arena()
        let eventArray = arena.pointerArray(events.map { arena.event($0) })
        let recordArray = arena.pointerArray(records.map { arena.record($0) })
        var offset: UInt64 = 0
        try call("append") { append(inst, eventArray, events.count, recordArray, records.count, &offset) }
        return offset
    }

    /// Current state and last sequence of an order; nil when unknown.
    public func orderState(_ orderID: String) throws(PluginCallError) -> (state: String, sequence: UInt64)? {
        guard let call = function(hub_bus_api_v1.self, \.order_state) else { throw missing("order_state") }
        var out = hub_buf()
        var sequence: UInt64 = 0
        defer { _ = take(&out) }
        let found = try lookup("order_state") { withBytes(orderID) { id in call(inst, id, &out, &sequence) } }
        return found ? (String(decoding: take(&out), as: UTF8.self), sequence) : nil
    }

    /// The order's events as a JSON array of CloudEvents; nil when unknown.
    public func timeline(_ orderID: String) throws(PluginCallError) -> [UInt8]? {
        try fetch(\.timeline, "timeline", orderID)
    }

    /// The idempotency record for `key` as JSON; nil when the key is new.
    public func idempotencyRecord(_ key: String) throws(PluginCallError) -> [UInt8]? {
        try fetch(\.idem_lookup, "idem_lookup", key)
    }

    /// Replay: records after `offset`, and the offset to continue from.
    public func read(after offset: UInt64, max: UInt32) throws(PluginCallError) -> (json: [UInt8], next: UInt64) {
        guard let call = function(hub_bus_api_v1.self, \.read_from) else { throw missing("read_from") }
        var out = hub_buf()
        var next: UInt64 = 0
        defer { _ = take(&out) }
        try self.call("read_from") { call(inst, offset, max, &out, &next) }
        return (take(&out), next)
    }

    /// Up to `max` ids of orders currently in `state`.
    public func orders(inState state: String, max: UInt32) throws(PluginCallError) -> [String] {
        guard let call = function(hub_bus_api_v1.self, \.orders_in_state) else { throw missing("orders_in_state") }
        var out = hub_buf()
        defer { _ = take(&out) }
        try self.call("orders_in_state") { withBytes(state) { s in call(inst, s, max, &out) } }
        guard let list = try? JSONParser.parse(take(&out)).arrayValue else {
            throw PluginCallError(plugin: slot, call: "orders_in_state", status: HUB_INTERNAL, message: "answer is not a JSON array")
        }
        return list.compactMap(\.stringValue)
    }

    public func kvGet(namespace: String, key: String) throws(PluginCallError) -> (value: [UInt8], revision: UInt64)? {
        guard let call = function(hub_bus_api_v1.self, \.kv_get) else { throw missing("kv_get") }
        var out = hub_buf()
        var revision: UInt64 = 0
        defer { _ = take(&out) }
        let found = try lookup("kv_get") { withBytes(namespace) { ns in withBytes(key) { k in call(inst, ns, k, &out, &revision) } } }
        return found ? (take(&out), revision) : nil
    }

    public func kvPut(namespace: String, key: String, value: [UInt8], expectedRevision: UInt64) throws(PluginCallError) -> UInt64 {
        guard let call = function(hub_bus_api_v1.self, \.kv_put) else { throw missing("kv_put") }
        var revision: UInt64 = 0
        try self.call("kv_put") {
            withBytes(namespace) { ns in
                withBytes(key) { k in
                    value.withUnsafeBufferPointer { v in call(inst, ns, k, hub_bytes(ptr: v.baseAddress, len: v.count), expectedRevision, &revision) }
                }
            }
        }
        return revision
    }

    public func flush() throws(PluginCallError) {
        guard let call = function(hub_bus_api_v1.self, \.flush) else { throw missing("flush") }
        try self.call("flush") { call(inst) }
    }

    /// Whether several hub nodes may share this bus (HUB_CAP_BUS_SHARED, ABI 1.3).
    public var sharedByNodes: Bool {
        descriptor.capabilities & UInt64(HUB_CAP_BUS_SHARED) != 0 && function(hub_bus_api_v1.self, \.wait_commits) != nil
    }

    /// The log's last offset once it is above `after` or the timeout passed (ABI 1.3).
    public func waitCommits(after: UInt64, timeoutMillis: UInt32) throws(PluginCallError) -> UInt64 {
        guard let call = function(hub_bus_api_v1.self, \.wait_commits) else { throw missing("wait_commits") }
        var tail: UInt64 = 0
        try self.call("wait_commits") { call(inst, after, timeoutMillis, &tail) }
        return tail
    }

    /// A page of KV entries after (namespace, key), as JSON (ABI 1.3).
    public func kvScan(afterNamespace: String, afterKey: String, max: UInt32) throws(PluginCallError) -> [UInt8] {
        guard let call = function(hub_bus_api_v1.self, \.kv_scan) else { throw missing("kv_scan") }
        var out = hub_buf()
        defer { _ = take(&out) }
        try self.call("kv_scan") { withBytes(afterNamespace) { ns in withBytes(afterKey) { k in call(inst, ns, k, max, &out) } } }
        return take(&out)
    }

    /// A page of idempotency records after `key`, as JSON (ABI 1.3).
    public func idempotencyScan(after key: String, max: UInt32) throws(PluginCallError) -> [UInt8] {
        guard let call = function(hub_bus_api_v1.self, \.idem_scan) else { throw missing("idem_scan") }
        var out = hub_buf()
        defer { _ = take(&out) }
        try self.call("idem_scan") { withBytes(key) { k in call(inst, k, max, &out) } }
        return take(&out)
    }

    private func fetch(
        _ field: KeyPath<hub_bus_api_v1, (@convention(c) (UnsafeMutableRawPointer?, hub_bytes, UnsafeMutablePointer<hub_buf>?) -> hub_status)?>,
        _ name: String, _ key: String
    ) throws(PluginCallError) -> [UInt8]? {
        guard let call = function(hub_bus_api_v1.self, field) else { throw missing(name) }
        var out = hub_buf()
        defer { _ = take(&out) }
        let found = try lookup(name) { withBytes(key) { k in call(inst, k, &out) } }
        return found ? take(&out) : nil
    }

    /// Like `call`, but HUB_NOT_FOUND is an answer (false), not an error.
    private func lookup(_ name: String, _ body: () -> hub_status) throws(PluginCallError) -> Bool {
        var notFound = false
        try call(name) {
            let status = body()
            if status == HUB_NOT_FOUND { notFound = true; return HUB_OK }
            return status
        }
        return !notFound
    }
}

func withBytes<R>(_ text: String, _ body: (hub_bytes) -> R) -> R {
    var copy = text
    return copy.withUTF8 { body(hub_bytes(ptr: $0.baseAddress, len: $0.count)) }
}
