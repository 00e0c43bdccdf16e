import Dispatch
import Foundation
import HubJSON
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The worker process side of `isolation: process` (`orderhub plugin-host`): dlopens one
/// plugin, creates one instance, and serves the hub's calls over the socket on its stdin
/// until the hub closes it. A crash here ends this process only; the hub restarts it.
public enum PluginWorker {
    /// Serves until the hub hangs up; returns the process's exit status.
    /// `kvShared`: the hub's KV is shared with other hub nodes (its plugin is told so).
    public static func serve(logger: Logger, kvShared: Bool = false) -> Int32 {
        WorkerLoop(logger: logger, kvShared: kvShared).run()
    }

    /// The reader loop. This thread only reads: every call, the create and the destroy run on
    /// other threads. Plugin code never runs here, because a plugin thread waiting for a host
    /// service's answer (which only this thread can read) may hold a lock the plugin's next
    /// call needs: running that call here would wait for ever.
    final class WorkerLoop: Sendable {
        let channel = FrameChannel(fd: 0)
        let services: RemoteServices
        let logger: Logger
        let made = Mutex<PluginInstance?>(nil)
        let destroying = Atomic<Bool>(false)
        let calls = DispatchQueue(label: "orderhub.worker.calls", attributes: .concurrent)
        let group = DispatchGroup()

        init(logger: Logger, kvShared: Bool) {
            self.logger = logger
            services = RemoteServices(channel: channel, kvShared: kvShared)
        }

        func run() -> Int32 {
            while let frame = channel.receive() { handle(frame) }
            // The hub hung up (after a destroy, or gone): nothing more can reach this instance.
            return 0
        }

        func handle(_ frame: (kind: Frame, id: UInt64, payload: [UInt8])) {
            switch frame.kind {
            case .serviceReply:
                services.complete(frame.id, frame.payload)
            case .call where frame.payload.first == Method.create.rawValue:
                offload { [self] in
                    switch PluginWorker.create(frame.payload, services: services, logger: logger) {
                    case .success(let instance):
                        made.withLock { $0 = instance }
                        channel.send(.reply, id: frame.id, PluginWorker.hello(instance))
                    case .failure(let refusal):
                        channel.send(.reply, id: frame.id, refusal.reply)
                        channel.shutDown()
                    }
                }
            case .call where frame.payload.first == Method.destroy.rawValue:
                // Off this thread: the calls in flight and the plugin's shutdown may still wait
                // for host services, whose answers this thread goes on reading.
                guard !destroying.exchange(true, ordering: .acquiringAndReleasing) else { return }
                Thread { [self] in
                    group.wait()
                    made.withLock { $0 }?.destroy()
                    channel.send(.reply, id: frame.id, Reply.ok([]))
                    channel.shutDown()
                }.start()
            case .call:
                guard let instance = made.withLock({ $0 }) else {
                    channel.send(.reply, id: frame.id, Reply.failure(3, "the instance is not created yet (its worker is starting)"))
                    return
                }
                offload { [channel] in channel.send(.reply, id: frame.id, PluginWorker.perform(instance, frame.payload)) }
            default:
                return
            }
        }

        private func offload(_ body: @escaping @Sendable () -> Void) {
            group.enter()
            calls.async { [group] in
                body()
                group.leave()
            }
        }

    }

    struct Refusal: Error {
        let reply: [UInt8]
    }

    static func create(_ payload: [UInt8], services: RemoteServices, logger: Logger) -> Result<PluginInstance, Refusal> {
        var request = WireReader(payload)
        do {
            _ = try request.u8()
            let slot = try request.string(), path = try request.string(), sha = try request.string(), config = try request.data()
            let library = try PluginLibrary(path: path, expectedSHA256: sha.isEmpty ? nil : sha)
            let parsed = (try? JSONParser.parse(config)) ?? .object([])
            let context = HostContext(slot: slot, config: parsed, logger: logger, metrics: MetricsRegistry(), backend: services)
            return .success(try PluginInstance(library: library, context: context, configJSON: config))
        } catch let error as LoadError {
            return .failure(Refusal(reply: Reply.failure(error.code == .createFailed ? 1 : 2, error.message)))
        } catch {
            return .failure(Refusal(reply: Reply.failure(2, "\(error)")))
        }
    }

    static func hello(_ instance: PluginInstance) -> [UInt8] {
        var hello = WireWriter()
        hello.i32(0)
        hello.string("")
        hello.descriptor(instance.descriptor)
        hello.string(instance.library.sha256)
        for feature in [instance.acceptsCallbacks, instance.answersStatusQueries, instance.supportsControl, instance.supportsStateExport] {
            hello.bool(feature)
        }
        return hello.bytes
    }

    /// One call: decode its arguments, call the instance, encode the answer.
    static func perform(_ instance: PluginInstance, _ payload: [UInt8]) -> [UInt8] {
        var r = WireReader(payload)
        do {
            guard let method = Method(rawValue: try r.u8()) else { return Reply.failure(2, "unknown method") }
            switch method {
            case .evaluate: return Reply.ok(try instance.evaluate(try r.order()))
            case .score: return Reply.ok(try instance.score(try r.order()))
            case .deliver:
                do {
                    return Reply.ok(try instance.deliver(try r.event()))
                } catch let failure as PluginInstance.DeliveryFailure {
                    var w = WireWriter()
                    w.i32(failure.error.status)
                    w.string(failure.error.message)
                    w.i64(Int64(failure.retryAfterMillis ?? -1))
                    return w.bytes
                }
            case .inbound: return Reply.ok(try instance.inbound(try r.event(), requestJSON: try r.data(), rawBody: try r.data()))
            case .queryStatus: return Reply.ok(try instance.queryStatus(try r.data()))
            case .control: return Reply.ok(try instance.control(try r.string(), try r.data()))
            case .health: return instance.health().map(Reply.ok) ?? Reply.failure(8, "no health")
            case .quiesce:
                try instance.quiesce(deadlineMonotonicNanos: try r.u64())
                return Reply.ok([])
            case .exportState:
                guard let state = try instance.exportState() else { return Reply.failure(8, "no state") }
                var w = WireWriter()
                w.i32(0)
                w.string("")
                w.data(state.bytes)
                w.u32(state.schema)
                return w.bytes
            case .importState:
                try instance.importState(try r.data(), schema: try r.u32())
                return Reply.ok([])
            case .onEvent:
                try instance.onEvent(try r.event())
                return Reply.ok([])
            case .create, .destroy: return Reply.failure(6, "not allowed now")
            }
        } catch let error as PluginCallError {
            return Reply.failure(error.status, error.message)
        } catch {
            return Reply.failure(1, "\(error)")
        }
    }
}

/// Reply payloads: i32 status, string message, then the result.
enum Reply {
    static func ok(_ result: [UInt8]) -> [UInt8] {
        var w = WireWriter()
        w.i32(0)
        w.string("")
        w.data(result)
        return w.bytes
    }

    static func failure(_ status: Int32, _ message: String) -> [UInt8] {
        var w = WireWriter()
        w.i32(status)
        w.string(message)
        return w.bytes
    }
}

/// Inside the worker: the host services a plugin calls, asked of the hub over the socket.
final class RemoteServices: HostServicesBackend {
    private let channel: FrameChannel
    private let nextID = Atomic<UInt64>(1)
    private let waiting = Mutex<[UInt64: Waiter]>([:])

    final class Waiter: Sendable {
        let done = DispatchSemaphore(value: 0)
        let answer = Mutex<[UInt8]?>(nil)
    }

    /// The hub's KV is shared with other hub nodes.
    let kvShared: Bool

    init(channel: FrameChannel, kvShared: Bool) {
        self.channel = channel
        self.kvShared = kvShared
    }

    func complete(_ id: UInt64, _ payload: [UInt8]) {
        guard let waiter = waiting.withLock({ $0.removeValue(forKey: id) }) else { return }
        waiter.answer.withLock { $0 = payload }
        waiter.done.signal()
    }

    /// Sends a service request and waits for the hub's answer (nil when the hub is gone).
    private func ask(_ service: Service, _ build: (inout WireWriter) -> Void) -> WireReader? {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let waiter = Waiter()
        waiting.withLock { $0[id] = waiter }
        var w = WireWriter()
        w.u8(service.rawValue)
        build(&w)
        guard channel.send(.service, id: id, w.bytes) else {
            waiting.withLock { _ = $0.removeValue(forKey: id) }
            return nil
        }
        waiter.done.wait()
        return waiter.answer.withLock { $0 }.map(WireReader.init)
    }

    func publish(from slot: String, _ event: BusEvent) -> Int32 {
        guard var r = ask(.publish, { $0.event(event) }) else { return 7 }
        return (try? r.i32()) ?? 7
    }

    func subscribe(_ context: HostContext, pattern: String) -> UInt64 {
        guard var r = ask(.subscribe, { $0.string(pattern) }) else { return 0 }
        return (try? r.u64()) ?? 0
    }

    func unsubscribe(_ context: HostContext, id: UInt64) -> Int32 {
        guard var r = ask(.unsubscribe, { $0.u64(id) }) else { return 7 }
        return (try? r.i32()) ?? 7
    }

    func kvGet(namespace: String, key: String) -> Result<(value: [UInt8], revision: UInt64)?, PluginCallError> {
        guard var r = ask(.kvGet, { $0.string(key) }) else { return .failure(Self.gone("kv_get")) }
        do {
            let status = try r.i32(), message = try r.string()
            if status == 8 { return .success(nil) }
            guard status == 0 else { return .failure(PluginCallError(plugin: namespace, call: "kv_get", status: status, message: message)) }
            return .success((try r.data(), try r.u64()))
        } catch {
            return .failure(Self.gone("kv_get"))
        }
    }

    func kvPut(namespace: String, key: String, value: [UInt8], expectedRevision: UInt64) -> Result<UInt64, PluginCallError> {
        guard var r = ask(.kvPut, { w in
            w.string(key)
            w.data(value)
            w.u64(expectedRevision)
        }) else { return .failure(Self.gone("kv_put")) }
        do {
            let status = try r.i32(), message = try r.string()
            guard status == 0 else { return .failure(PluginCallError(plugin: namespace, call: "kv_put", status: status, message: message)) }
            return .success(try r.u64())
        } catch {
            return .failure(Self.gone("kv_put"))
        }
    }

    static func gone(_ call: String) -> PluginCallError {
        PluginCallError(plugin: "worker", call: call, status: 3, message: "the hub did not answer")
    }
}
