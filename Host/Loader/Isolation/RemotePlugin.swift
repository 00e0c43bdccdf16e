import Logging
import Synchronization

/// A plugin instance in a worker process of its own (`isolation: process`): the same ABI,
/// carried over a socket. A crash or a hang kills only the worker; calls in flight fail
/// cleanly and the worker is restarted (WorkerClient). Host services the plugin calls are
/// answered here, in the hub, with the slot's own namespace whatever the worker asks.
public final class RemotePlugin: PluginHandle {
    public let context: HostContext
    public var slot: String { context.slot }
    public var descriptor: PluginDescriptor { hello.descriptor }
    public let libraryPath: String
    public var sha256: String { hello.sha256 }
    public var isolation: String { "process" }
    public var acceptsCallbacks: Bool { hello.acceptsCallbacks }
    public var answersStatusQueries: Bool { hello.answersStatusQueries }
    public var supportsControl: Bool { hello.supportsControl }
    public var supportsStateExport: Bool { hello.supportsStateExport }
    public var isDestroyed: Bool { destroyed.load(ordering: .acquiring) }
    /// Worker restarts since this instance was made.
    public var restarts: Int { client.restarts }

    private let client: WorkerClient
    private let hello: WorkerClient.Hello
    private let destroyed = Atomic<Bool>(false)

    /// Starts the worker and creates the instance in it. `onCrash` hears of every death.
    public init(library: String, sha256: String?, context: HostContext, configJSON: [UInt8], callTimeoutMillis: Int = 60_000,
                logger: Logger, onCrash: @escaping @Sendable (String, Int) -> Void) throws(LoadError) {
        self.context = context
        libraryPath = library
        var spec = WorkerClient.Spec(slot: context.slot, library: library, sha256: sha256, configJSON: configJSON,
                                     callTimeoutMillis: callTimeoutMillis)
        spec.kvShared = context.backend?.kvShared ?? false
        client = WorkerClient(spec: spec, logger: logger)
        client.onService { [context] service, request in Self.serve(service, &request, context) }
        client.onCrash { [context] reason, restarts in
            // The fresh instance subscribes again in its create: the dead one's subscriptions go.
            context.backend?.dropSubscriptions(context)
            onCrash(reason, restarts)
        }
        hello = try client.start()
        context.attach(self)
    }

    /// A host service for the worker's plugin, with the slot's namespace (never the worker's word).
    static func serve(_ service: Service, _ r: inout WireReader, _ context: HostContext) -> [UInt8] {
        guard let backend = context.backend else { return Reply.failure(2, "no host services") }
        var w = WireWriter()
        do {
            switch service {
            case .publish:
                // As in-process: the producer is the slot and a plugin's event never moves an
                // order's state, whatever a (possibly hostile) worker wrote.
                var event = try r.event()
                event.producer = context.slot
                event.state = ""
                event.sequence = 0
                w.i32(backend.publish(from: context.slot, event))
            case .subscribe:
                w.u64(backend.subscribe(context, pattern: try r.string()))
            case .unsubscribe:
                w.i32(backend.unsubscribe(context, id: try r.u64()))
            case .kvGet:
                switch backend.kvGet(namespace: context.slot, key: try r.string()) {
                case .success(nil): return Reply.failure(8, "not found")
                case .success(let entry?):
                    w.i32(0)
                    w.string("")
                    w.data(entry.value)
                    w.u64(entry.revision)
                case .failure(let error): return Reply.failure(error.status, error.message)
                }
            case .kvPut:
                let key = try r.string(), value = try r.data(), expected = try r.u64()
                switch backend.kvPut(namespace: context.slot, key: key, value: value, expectedRevision: expected) {
                case .success(let revision):
                    w.i32(0)
                    w.string("")
                    w.u64(revision)
                case .failure(let error): return Reply.failure(error.status, error.message)
                }
            }
        } catch {
            return Reply.failure(1, "\(error)")
        }
        return w.bytes
    }

    /// One call: arguments out, the reply's status and result back.
    private func call(_ name: String, _ method: Method, _ build: (inout WireWriter) -> Void = { _ in }) throws(PluginCallError) -> WireReader {
        guard !isDestroyed else {
            throw PluginCallError(plugin: slot, call: name, status: 6, message: "\(descriptor.id) \(descriptor.version) was retired (replaced or removed)")
        }
        var w = WireWriter()
        w.u8(method.rawValue)
        build(&w)
        let answer: [UInt8]
        switch client.call(w.bytes) {
        case .success(let bytes): answer = bytes
        case .failure(let error): throw PluginCallError(plugin: slot, call: name, status: error.status, message: error.message)
        }
        var r = WireReader(answer)
        do {
            let status = try r.i32(), message = try r.string()
            guard status == 0 else { throw PluginCallError(plugin: slot, call: name, status: status, message: message.isEmpty ? "no reason given" : message) }
            return r
        } catch let error as PluginCallError {
            throw error
        } catch {
            throw PluginCallError(plugin: slot, call: name, status: 7, message: "the worker's answer is damaged: \(error)")
        }
    }

    private func bytes(_ name: String, _ method: Method, _ build: (inout WireWriter) -> Void) throws(PluginCallError) -> [UInt8] {
        var r = try call(name, method, build)
        do { return try r.data() } catch { throw PluginCallError(plugin: slot, call: name, status: 7, message: "\(error)") }
    }

    public func evaluate(_ order: OrderFields) throws(PluginCallError) -> [UInt8] { try bytes("evaluate", .evaluate) { $0.order(order) } }
    public func score(_ order: OrderFields) throws(PluginCallError) -> [UInt8] { try bytes("score", .score) { $0.order(order) } }

    public func deliver(_ event: BusEvent) throws(PluginInstance.DeliveryFailure) -> [UInt8] {
        var w = WireWriter()
        w.u8(Method.deliver.rawValue)
        w.event(event)
        guard !isDestroyed else {
            throw PluginInstance.DeliveryFailure(error: PluginCallError(plugin: slot, call: "deliver", status: 6, message: "retired"), retryAfterMillis: nil)
        }
        switch client.call(w.bytes) {
        case .failure(let error):
            // The worker died or hung: temporary, so the dispatcher retries (same idempotency key).
            let status: Int32 = error.status == 7 ? 3 : error.status
            throw PluginInstance.DeliveryFailure(error: PluginCallError(plugin: slot, call: "deliver", status: status, message: error.message), retryAfterMillis: nil)
        case .success(let answer):
            var r = WireReader(answer)
            do {
                let status = try r.i32(), message = try r.string()
                if status == 0 { return try r.data() }
                let retryAfter = (try? r.i64()).flatMap { $0 >= 0 ? Int($0) : nil }
                throw PluginInstance.DeliveryFailure(error: PluginCallError(plugin: slot, call: "deliver", status: status, message: message), retryAfterMillis: retryAfter)
            } catch let failure as PluginInstance.DeliveryFailure {
                throw failure
            } catch {
                throw PluginInstance.DeliveryFailure(error: PluginCallError(plugin: slot, call: "deliver", status: 7, message: "\(error)"), retryAfterMillis: nil)
            }
        }
    }

    public func inbound(_ event: BusEvent, requestJSON: [UInt8], rawBody: [UInt8]) throws(PluginCallError) -> [UInt8] {
        try bytes("inbound", .inbound) { w in
            w.event(event)
            w.data(requestJSON)
            w.data(rawBody)
        }
    }

    public func queryStatus(_ context: [UInt8]) throws(PluginCallError) -> [UInt8] { try bytes("query_status", .queryStatus) { $0.data(context) } }

    public func control(_ command: String, _ args: [UInt8]) throws(PluginCallError) -> [UInt8] {
        try bytes("control \(command)", .control) { w in
            w.string(command)
            w.data(args)
        }
    }

    public func health() -> [UInt8]? { try? bytes("health", .health) { _ in } }

    public func onEvent(_ event: BusEvent) throws(PluginCallError) { _ = try call("on_event", .onEvent) { $0.event(event) } }

    public func quiesce(deadlineMonotonicNanos deadline: UInt64) throws(PluginCallError) {
        _ = try call("quiesce", .quiesce) { $0.u64(deadline) }
    }

    public func exportState() throws(PluginCallError) -> (bytes: [UInt8], schema: UInt32)? {
        do {
            var r = try call("export_state", .exportState)
            return (try r.data(), try r.u32())
        } catch let error as PluginCallError where error.status == 8 {
            return nil
        } catch let error as PluginCallError {
            throw error
        } catch {
            throw PluginCallError(plugin: slot, call: "export_state", status: 7, message: "\(error)")
        }
    }

    public func importState(_ bytes: [UInt8], schema: UInt32) throws(PluginCallError) {
        _ = try call("import_state", .importState) { w in
            w.data(bytes)
            w.u32(schema)
        }
    }

    deinit { destroy() }

    /// Destroys the instance in its worker; the worker exits. Idempotent.
    public func destroy() {
        guard !destroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        client.stop()
    }
}
