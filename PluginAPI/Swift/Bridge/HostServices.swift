import CHubABI

/// The host's services for one instance (logging, events, KV, config, metrics, clocks,
/// timers). Thread-safe by the ABI's contract, so it may be used from any thread.
public struct HostServices: @unchecked Sendable {  // immutable; the host keeps both pointers valid until destroy
    let api: UnsafePointer<hub_host_api>
    let context: UnsafeMutableRawPointer?

    public enum LogLevel: Int32, Sendable { case trace = 0, debug, info, warn, error }
    public enum MetricKind: Int32, Sendable { case counter = 1, gauge = 2, histogram = 3 }

    /// Whether this KV is shared with other hub nodes (HUB_HOST_CAP_KV_SHARED): state that must
    /// be exact across nodes (counters, windows) belongs in it, not in memory.
    public var kvShared: Bool { api.pointee.caps & UInt64(HUB_HOST_CAP_KV_SHARED) != 0 }

    /// The host's ABI version (major, minor).
    public var abiVersion: (major: UInt16, minor: UInt16) { (api.pointee.abi_major, api.pointee.abi_minor) }

    public func log(_ level: LogLevel, _ message: String) {
        guard let log = api.pointee.log else { return }
        var text = message
        text.withUTF8 { log(context, level.rawValue, hub_bytes(ptr: $0.baseAddress, len: $0.count)) }
    }

    /// A value from this instance's config by dotted path; nil when absent.
    public func config(_ key: String) -> String? {
        guard let get = api.pointee.config_get else { return nil }
        var out = hub_buf()
        let status = withBytes(key) { get(context, $0, &out) }
        guard status == HUB_OK else { return nil }
        return takeString(&out)
    }

    /// Reads a KV entry of this plugin; nil when absent.
    public func kvGet(_ key: String) throws(PluginError) -> (value: [UInt8], revision: UInt64)? {
        guard let get = api.pointee.kv_get else { throw PluginError(HUB_UNSUPPORTED, "host has no KV service") }
        var out = hub_buf()
        var revision: UInt64 = 0
        let status = withBytes(key) { get(context, $0, &out, &revision) }
        if status == HUB_NOT_FOUND { return nil }
        guard status == HUB_OK else { throw PluginError(status, "kv_get '\(key)' failed with status \(status)") }
        return (takeBytes(&out), revision)
    }

    /// Compare-and-set write; returns the new revision, throws HUB_CONFLICT when another writer won.
    public func kvPut(_ key: String, _ value: [UInt8], expectedRevision: UInt64) throws(PluginError) -> UInt64 {
        guard let put = api.pointee.kv_put else { throw PluginError(HUB_UNSUPPORTED, "host has no KV service") }
        var newRevision: UInt64 = 0
        let status = withBytes(key) { keyBytes in
            value.withUnsafeBufferPointer { put(context, keyBytes, hub_bytes(ptr: $0.baseAddress, len: $0.count), expectedRevision, &newRevision) }
        }
        guard status == HUB_OK else { throw PluginError(status, "kv_put '\(key)' failed with status \(status)") }
        return newRevision
    }

    /// Queues an event about `subject` for the next group commit.
    public func publish(type: String, subject: String, data: [UInt8]) throws(PluginError) {
        guard let publish = api.pointee.publish else { throw PluginError(HUB_UNSUPPORTED, "host has no publish service") }
        let status = withBytes(type) { typeBytes in
            withBytes(subject) { subjectBytes in
                data.withUnsafeBufferPointer { dataBytes in
                    var event = hub_event()
                    event.struct_size = UInt32(MemoryLayout<hub_event>.size)
                    event.type = typeBytes
                    event.subject = subjectBytes
                    event.data = hub_bytes(ptr: dataBytes.baseAddress, len: dataBytes.count)
                    return publish(context, &event)
                }
            }
        }
        guard status == HUB_OK else { throw PluginError(status, "publish '\(type)' failed with status \(status)") }
    }

    /// Subscribes this instance to committed events of `pattern` (exact type, or prefix ending in '*').
    public func subscribe(_ pattern: String) throws(PluginError) -> UInt64 {
        guard let subscribe = api.pointee.subscribe else { throw PluginError(HUB_UNSUPPORTED, "host has no subscribe service") }
        var id: UInt64 = 0
        let status = withBytes(pattern) { subscribe(context, $0, &id) }
        guard status == HUB_OK else { throw PluginError(status, "subscribe '\(pattern)' failed with status \(status)") }
        return id
    }

    /// Defines a metric; call from `init(context:)`.
    public func defineMetric(_ name: String, kind: MetricKind, help: String) throws(PluginError) -> Metric {
        guard let define = api.pointee.metric_define else { throw PluginError(HUB_UNSUPPORTED, "host has no metrics") }
        var id: UInt32 = 0
        let status = withBytes(name) { nameBytes in withBytes(help) { define(context, nameBytes, kind.rawValue, $0, &id) } }
        guard status == HUB_OK else { throw PluginError(status, "metric_define '\(name)' failed with status \(status)") }
        return Metric(host: self, id: id)
    }

    public func monotonicNanos() -> UInt64 { api.pointee.clock_mono_ns?(context) ?? 0 }
    public func wallNanos() -> UInt64 { api.pointee.clock_wall_ns?(context) ?? 0 }

    /// Asks for `onTimer(token)` after `delayNanos`.
    public func schedule(afterNanos delayNanos: UInt64, token: UInt64) -> Bool {
        api.pointee.schedule?(context, delayNanos, token) == HUB_OK
    }

    /// A metric defined with `defineMetric`; recording is cheap and never fails.
    public struct Metric: Sendable {
        let host: HostServices
        let id: UInt32
        public func record(_ value: Double) { host.api.pointee.metric_record?(host.context, id, value) }
    }
}

func withBytes<R>(_ text: String, _ body: (hub_bytes) -> R) -> R {
    var copy = text
    return copy.withUTF8 { body(hub_bytes(ptr: $0.baseAddress, len: $0.count)) }
}

/// Copies an owned buffer's bytes out and releases it.
func takeBytes(_ buf: inout hub_buf) -> [UInt8] {
    let bytes = buf.ptr.map { Array(UnsafeBufferPointer(start: $0, count: buf.len)) } ?? []
    buf.release?(&buf)
    buf = hub_buf()
    return bytes
}

func takeString(_ buf: inout hub_buf) -> String { String(decoding: takeBytes(&buf), as: UTF8.self) }

/// Fills `out` with a malloc'd copy of `bytes` that the receiver frees through `release`.
func fillBuffer(_ out: UnsafeMutablePointer<hub_buf>?, _ bytes: [UInt8]) {
    guard let out else { return }
    let memory = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
    if !bytes.isEmpty {
        bytes.withUnsafeBufferPointer { memory.initialize(from: $0.baseAddress!, count: bytes.count) }
    }
    out.pointee = hub_buf(ptr: memory, len: bytes.count, release: { buf in
        buf?.pointee.ptr?.deallocate()
        buf?.pointee.ptr = nil
        buf?.pointee.len = 0
    }, owner: nil)
}

func fillBuffer(_ out: UnsafeMutablePointer<hub_buf>?, _ text: String) { fillBuffer(out, Array(text.utf8)) }
