import CHubABI
import HubJSON
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One created instance of a plugin, and the only way the host calls into it. Every call
/// goes through `gated`, which enforces the plugin's declared threading model, and turns a
/// non-OK status into a PluginCallError carrying the plugin's last_error text.
public final class PluginInstance: @unchecked Sendable {  // `inst` is only used under `gated`; tables are immutable
    public let library: PluginLibrary
    public let context: HostContext
    public var slot: String { context.slot }
    public var descriptor: PluginDescriptor { library.descriptor }
    let inst: UnsafeMutableRawPointer
    private let kindTable: UnsafeRawPointer
    private let gate = Mutex<Void>(())
    private let destroyed = Atomic<Bool>(false)
    /// Calls inside the plugin right now: `destroy` waits for them (a retired version may
    /// still be finishing a delivery or an event when it is replaced).
    private let inFlight = Atomic<Int>(0)
    private let unmanagedContext: Unmanaged<HostContext>

    /// Creates an instance with `config` (JSON object). A refusal carries the plugin's own message.
    public init(library: PluginLibrary, context: HostContext, configJSON: [UInt8]) throws(LoadError) {
        self.library = library
        self.context = context
        let desc = library.raw
        let retained = Unmanaged.passRetained(context)
        unmanagedContext = retained
        var out: UnsafeMutableRawPointer?
        var err = hub_buf()
        let status = configJSON.withUnsafeBufferPointer { config in
            desc.pointee.create!(context.backend == nil ? HostAPITable.limited : context.backend!.kvShared ? HostAPITable.clustered : HostAPITable.shared, retained.toOpaque(), hub_bytes(ptr: config.baseAddress, len: config.count), &out, &err)
        }
        let message = String(decoding: take(&err), as: UTF8.self)
        guard status == HUB_OK, let out else {
            retained.release()
            let reason = message.isEmpty ? "no reason given" : message
            var error = LoadError(.createFailed, path: library.path, "create of '\(library.descriptor.id)' for slot '\(context.slot)' failed (\(PluginStatus.name(status))): \(reason)")
            error.temporary = status == HUB_AGAIN
            throw error
        }
        let kind = library.descriptor.kind.rawValue
        guard let table = desc.pointee.kind_api!(out, kind, 1), UnsafeRawPointer(table).load(as: UInt32.self) >= 16 else {
            desc.pointee.destroy!(out)
            retained.release()
            throw LoadError(.kindMismatch, path: library.path, "'\(library.descriptor.id)' declares kind \(library.descriptor.kind.name) but kind_api(\(kind), 1) returned no table")
        }
        inst = out
        kindTable = table
        context.attach(self)
    }

    /// Destroys the instance (the library stays mapped). Idempotent. Calls that arrive later
    /// fail with HUB_STATE; calls already inside the plugin are waited for first.
    public func destroy() {
        guard !destroyed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        while inFlight.load(ordering: .sequentiallyConsistent) > 0 { usleep(200) }
        switch library.descriptor.threading {
        case .threadSafe: library.raw.pointee.destroy!(inst)
        case .serialPerInstance: gate.withLock { _ in library.raw.pointee.destroy!(inst) }
        case .serialGlobal: library.globalGate.lock.withLock { _ in library.raw.pointee.destroy!(inst) }
        }
        unmanagedContext.release()
    }

    deinit { destroy() }

    /// True once `destroy` has begun: the instance takes no more calls.
    public var isDestroyed: Bool { destroyed.load(ordering: .acquiring) }

    /// Counts the call in, unless the instance is being destroyed (then nil, and nothing runs).
    private func enter() -> Bool {
        inFlight.add(1, ordering: .sequentiallyConsistent)
        guard !destroyed.load(ordering: .sequentiallyConsistent) else {
            inFlight.subtract(1, ordering: .sequentiallyConsistent)
            return false
        }
        return true
    }

    private func leave() { inFlight.subtract(1, ordering: .sequentiallyConsistent) }

    /// Runs `body` under the threading gate, or returns nil when the instance is destroyed.
    func gated<R>(_ body: () -> R) -> R? {
        guard enter() else { return nil }
        defer { leave() }
        switch library.descriptor.threading {
        case .threadSafe: return body()
        case .serialPerInstance: return gate.withLock { _ in body() }
        case .serialGlobal: return library.globalGate.lock.withLock { _ in body() }
        }
    }

    /// Runs an ABI call under the threading gate and reads last_error under the same gate,
    /// so another thread's call cannot overwrite the reason first.
    func call(_ name: String, _ body: () -> hub_status) throws(PluginCallError) {
        let answer = gated { () -> (hub_status, String) in
            let status = body()
            guard status != HUB_OK else { return (status, "") }
            return (status, library.raw.pointee.last_error!(inst).map { String(cString: $0) } ?? "")
        }
        guard let (status, message) = answer else {
            throw PluginCallError(plugin: slot, call: name, status: HUB_STATE, message: "\(descriptor.id) \(descriptor.version) was retired (replaced or removed)")
        }
        guard status != HUB_OK else { return }
        throw PluginCallError(plugin: slot, call: name, status: status, message: message.isEmpty ? "no reason given" : message)
    }

    /// Reads a table function only if it fits in the table's declared size.
    func function<Table, F>(_ type: Table.Type, _ field: KeyPath<Table, F?>) -> F? {
        guard let offset = MemoryLayout<Table>.offset(of: field),
            offset + MemoryLayout<F?>.size <= Int(kindTable.load(as: UInt32.self))
        else { return nil }
        return kindTable.assumingMemoryBound(to: Table.self).pointee[keyPath: field]
    }

    func missing(_ call: String) -> PluginCallError {
        PluginCallError(plugin: slot, call: call, status: HUB_UNSUPPORTED, message: "function not provided by \(descriptor.id) \(descriptor.version)")
    }

    // MARK: Kind calls

    /// Rules: evaluate an order, returning the plugin's result JSON.
    public func evaluate(_ order: OrderFields) throws(PluginCallError) -> [UInt8] {
        try orderCall("evaluate", function(hub_rules_api_v1.self, \.evaluate), order)
    }

    /// Predictor: score an order.
    public func score(_ order: OrderFields) throws(PluginCallError) -> [UInt8] {
        try orderCall("score", function(hub_predictor_api_v1.self, \.score), order)
    }

    /// Marshals the order once into an arena and calls a kind function that answers JSON.
    private func orderCall(
        _ name: String,
        _ fn: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<hub_order>?, UnsafeMutablePointer<hub_buf>?) -> hub_status)?,
        _ order: OrderFields
    ) throws(PluginCallError) -> [UInt8] {
        guard let fn else { throw missing(name) }
        let arena = Arena()
        let abiOrder = arena.order(order)
        var out = hub_buf()
        defer { _ = take(&out) }
        try call(name) { fn(inst, abiOrder, &out) }
        return take(&out)
    }

    /// Health as JSON, or nil when the plugin does not report health.
    public func health() -> [UInt8]? {
        guard DescriptorValidator.has(library.raw, \.health, cap: UInt64(HUB_CAP_HEALTH)), let health = library.raw.pointee.health else { return nil }
        var out = hub_buf()
        let status = gated { health(inst, &out) }
        let bytes = take(&out)
        return status == HUB_OK ? bytes : nil
    }

    var supportsTimers: Bool { DescriptorValidator.has(library.raw, \.on_timer, cap: UInt64(HUB_CAP_ON_TIMER)) }

    func fireTimer(_ token: UInt64) {
        guard supportsTimers, let onTimer = library.raw.pointee.on_timer else { return }
        _ = gated { onTimer(inst, token) }
    }

    /// Delivers a committed event to a subscribed instance (HUB_CAP_ON_EVENT).
    public func onEvent(_ event: BusEvent) throws(PluginCallError) {
        guard DescriptorValidator.has(library.raw, \.on_event, cap: UInt64(HUB_CAP_ON_EVENT)), let onEvent = library.raw.pointee.on_event
        else { throw missing("on_event") }
        let arena = Arena()
        let abiEvent = arena.event(event)
        try call("on_event") { onEvent(inst, abiEvent) }
    }

    /// True when the plugin answers admin commands (ABI 1.1 control, HUB_CAP_CONTROL).
    public var supportsControl: Bool { DescriptorValidator.has(library.raw, \.control, cap: UInt64(HUB_CAP_CONTROL)) }

    /// An admin command (e.g. "rulesets.publish") with JSON arguments; returns the JSON answer.
    public func control(_ command: String, _ args: [UInt8]) throws(PluginCallError) -> [UInt8] {
        guard supportsControl, let control = library.raw.pointee.control else { throw missing("control") }
        var out = hub_buf()
        defer { _ = take(&out) }
        // Admin commands may block (KV writes); they use the same gate as every other call.
        try command.utf8CString.withUnsafeBufferPointer { name throws(PluginCallError) in
            try args.withUnsafeBufferPointer { argsBuffer throws(PluginCallError) in
                try call("control \(command)") {
                    name.withMemoryRebound(to: UInt8.self) { utf8 in
                        control(inst, hub_bytes(ptr: utf8.baseAddress, len: utf8.count - 1),
                                hub_bytes(ptr: argsBuffer.baseAddress, len: argsBuffer.count), &out)
                    }
                }
            }
        }
        return take(&out)
    }

    /// True when the plugin finishes its own background work on request (HUB_CAP_QUIESCE).
    public var supportsQuiesce: Bool { DescriptorValidator.has(library.raw, \.quiesce, cap: UInt64(HUB_CAP_QUIESCE)) }

    /// Hot-swap hook: finish in-flight work and accept no new background work by `deadline`
    /// (monotonic ns). A plugin without HUB_CAP_QUIESCE has nothing to finish.
    public func quiesce(deadlineMonotonicNanos deadline: UInt64) throws(PluginCallError) {
        guard supportsQuiesce, let quiesce = library.raw.pointee.quiesce else { return }
        try call("quiesce") { quiesce(inst, deadline) }
    }

    /// True when the plugin can hand its state to a successor (HUB_CAP_STATE_EXPORT).
    public var supportsStateExport: Bool { DescriptorValidator.has(library.raw, \.export_state, cap: UInt64(HUB_CAP_STATE_EXPORT)) }

    /// Hot-swap hook: the instance's state for a successor, or nil without HUB_CAP_STATE_EXPORT.
    public func exportState() throws(PluginCallError) -> (bytes: [UInt8], schema: UInt32)? {
        guard DescriptorValidator.has(library.raw, \.export_state, cap: UInt64(HUB_CAP_STATE_EXPORT)),
            let export = library.raw.pointee.export_state
        else { return nil }
        var out = hub_buf()
        var schema: UInt32 = 0
        defer { _ = take(&out) }
        try call("export_state") { export(inst, &out, &schema) }
        return (take(&out), schema)
    }

    /// Hot-swap hook: hand state from a predecessor to this instance.
    public func importState(_ bytes: [UInt8], schema: UInt32) throws(PluginCallError) {
        guard DescriptorValidator.has(library.raw, \.import_state, cap: UInt64(HUB_CAP_STATE_EXPORT)),
            let importState = library.raw.pointee.import_state
        else { throw missing("import_state") }
        try bytes.withUnsafeBufferPointer { buffer throws(PluginCallError) in
            try call("import_state") { importState(inst, hub_bytes(ptr: buffer.baseAddress, len: buffer.count), schema) }
        }
    }

    /// Measures one trivial call through the ABI (kind_api) against the same work done by a
    /// direct Swift call, in ns per call, for `orderhub bench`.
    public func measureCallOverhead(iterations: Int) -> (abi: Double, direct: Double) {
        let kindAPI = library.raw.pointee.kind_api!
        let kind = descriptor.kind.rawValue
        // Each call's argument depends on the previous result, so neither loop can be hoisted.
        var sink: UInt32 = 0
        let start = Clock.monotonicNanos()
        for _ in 0..<iterations {
            sink &+= kindAPI(inst, kind, 1 + (sink & 0x8000_0000)) == nil ? 0x8000_0001 : 1
        }
        let middle = Clock.monotonicNanos()
        for _ in 0..<iterations {
            sink &+= directKindLookup(kind, 1 + (sink & 0x8000_0000)) == nil ? 0x8000_0001 : 1
        }
        let end = Clock.monotonicNanos()
        if sink == 7 { print(sink) }
        return (Double(middle - start) / Double(iterations), Double(end - middle) / Double(iterations))
    }

    /// The same lookup as a plain Swift method: the baseline an ABI call is compared with.
    @inline(never)
    private func directKindLookup(_ kind: UInt32, _ version: UInt32) -> UnsafeRawPointer? {
        kind == library.descriptor.kind.rawValue && version == 1 ? kindTable : nil
    }
}
