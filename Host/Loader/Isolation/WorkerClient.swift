import Dispatch
import Foundation
import Logging
import Synchronization

/// The hub's side of one plugin worker process: starts it (`orderhub plugin-host`, the
/// socket as its stdin), creates the instance in it, sends calls and waits for replies,
/// answers the host services the plugin asks for, and restarts the worker with backoff when
/// it dies. Calls in flight when it dies fail (HUB_INTERNAL); calls while it restarts fail
/// fast (HUB_AGAIN), so a connector retries and the pipeline holds the order for a person.
final class WorkerClient: Sendable {
    struct Spec: Sendable {
        let slot: String
        let library: String
        let sha256: String?
        let configJSON: [UInt8]
        /// A call that takes longer kills the worker (a hung plugin is a crashed one).
        let callTimeoutMillis: Int
        /// The hub's KV is shared with other nodes: the worker's plugin is told so (HUB_HOST_CAP_KV_SHARED).
        var kvShared = false
    }

    /// What the worker said about its instance once created.
    struct Hello: Sendable {
        let descriptor: PluginDescriptor
        let sha256: String
        let acceptsCallbacks: Bool
        let answersStatusQueries: Bool
        let supportsControl: Bool
        let supportsStateExport: Bool
    }

    /// Foundation's Process is not Sendable; it is only touched under `live`'s lock or by the
    /// reader thread of its own generation once the socket closed.
    final class Child: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }
    }

    private struct Live: Sendable {
        var channel: FrameChannel?
        var child: Child?
        var pid: Int32 = 0
        var generation = 0
        var restarts = 0
        /// Deaths in a row without a minute of service: the backoff grows with these only.
        var quickDeaths = 0
        var stopping = false
        var startedAt: UInt64 = 0
    }

    final class Waiter: Sendable {
        let done = DispatchSemaphore(value: 0)
        let answer = Mutex<[UInt8]?>(nil)
    }

    let spec: Spec
    private let logger: Logger
    private let live = Mutex(Live())
    private let waiting = Mutex<[UInt64: Waiter]>([:])
    private let nextID = Atomic<UInt64>(1)
    /// Serves the plugin's host-service requests (set once the remote handle exists).
    private let serve = Mutex<(@Sendable (Service, inout WireReader) -> [UInt8])?>(nil)
    /// Told when the worker dies: (reason, restarts so far).
    private let crashed = Mutex<(@Sendable (String, Int) -> Void)?>(nil)

    /// The program that hosts workers: ORDERHUB_PLUGIN_HOST, else `orderhub` beside this executable.
    static var executable: String {
        if let path = ProcessInfo.processInfo.environment["ORDERHUB_PLUGIN_HOST"], !path.isEmpty { return path }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "orderhub"
        return (me as NSString).deletingLastPathComponent + "/orderhub"
    }

    init(spec: Spec, logger: Logger) {
        self.spec = spec
        self.logger = logger
    }

    func onService(_ body: @escaping @Sendable (Service, inout WireReader) -> [UInt8]) { serve.withLock { $0 = body } }
    func onCrash(_ body: @escaping @Sendable (String, Int) -> Void) { crashed.withLock { $0 = body } }

    /// Starts the worker and creates the instance in it; a refusal is the plugin's own.
    func start() throws(LoadError) -> Hello {
        let (channel, child) = try launch()
        let pid = child.process.processIdentifier
        let generation = live.withLock { l -> Int in
            l.channel = channel
            l.child = child
            l.pid = pid
            l.generation += 1
            l.startedAt = Clock.monotonicNanos()
            return l.generation
        }
        startReader(channel, child: child, generation: generation)
        var w = WireWriter()
        w.u8(Method.create.rawValue)
        w.string(spec.slot)
        w.string(spec.library)
        w.string(spec.sha256 ?? "")
        w.data(spec.configJSON)
        let reply: [UInt8]
        switch call(w.bytes, timeoutMillis: 60_000) {
        case .success(let bytes): reply = bytes
        case .failure(let error):
            // A first create that crashed or hung is a refusal, not something to restart.
            giveUp(first: generation == 1)
            throw LoadError(.createFailed, path: spec.library, "worker for slot '\(spec.slot)': \(error.message)")
        }
        var r = WireReader(reply)
        do {
            let status = try r.i32(), message = try r.string()
            guard status == 0 else {
                giveUp(first: generation == 1)
                throw LoadError(status == 1 ? .createFailed : .entryFailed, path: spec.library, "\(message) (in its worker process)")
            }
            return Hello(descriptor: try r.descriptor(), sha256: try r.string(), acceptsCallbacks: try r.bool(), answersStatusQueries: try r.bool(),
                         supportsControl: try r.bool(), supportsStateExport: try r.bool())
        } catch let error as LoadError {
            throw error
        } catch {
            giveUp(first: generation == 1)
            throw LoadError(.entryFailed, path: spec.library, "worker for slot '\(spec.slot)' answered garbage: \(error)")
        }
    }

    private func launch() throws(LoadError) -> (FrameChannel, Child) {
        guard let (hubEnd, workerEnd) = FrameChannel.pair() else {
            throw LoadError(.createFailed, path: spec.library, "cannot make a socket for the worker: \(String(cString: strerror(errno)))")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["plugin-host", "--slot", spec.slot, "--log-level", "\(logger.logLevel)"] + (spec.kvShared ? ["--kv-shared"] : [])
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"  // a crash is reported by the hub; restart fast
        process.environment = environment
        process.standardInput = FileHandle(fileDescriptor: workerEnd, closeOnDealloc: false)
        // Spawned from a pool thread: a worker started by `apply` (on its low-priority thread)
        // must not inherit that thread's nice value.
        let spawned = Mutex<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        let child = Child(process)
        DispatchQueue.global().async {
            do { try child.process.run() } catch { spawned.withLock { $0 = error } }
            done.signal()
        }
        done.wait()
        if let error = spawned.withLock({ $0 }) {
            close(hubEnd)
            close(workerEnd)
            throw LoadError(.createFailed, path: spec.library, "cannot start the worker \(Self.executable): \(error)")
        }
        close(workerEnd)
        return (FrameChannel(fd: hubEnd), child)
    }

    private func startReader(_ channel: FrameChannel, child: Child, generation: Int) {
        let body: @Sendable () -> Void = { [self] in
            while let frame = channel.receive() {
                switch frame.kind {
                case .reply:
                    guard let waiter = waiting.withLock({ $0.removeValue(forKey: frame.id) }) else { continue }
                    waiter.answer.withLock { $0 = frame.payload }
                    waiter.done.signal()
                case .service:
                    // Off the reader: a service may wait on the bus while replies keep coming.
                    DispatchQueue.global().async { [self] in
                        var r = WireReader(frame.payload)
                        let kind = (try? r.u8()).flatMap(Service.init(rawValue:))
                        let answer = kind.flatMap { service in serve.withLock({ $0 }).map { $0(service, &r) } } ?? Reply.failure(2, "unknown service")
                        channel.send(.serviceReply, id: frame.id, answer)
                    }
                default: continue
                }
            }
            ended(child, channel: channel, generation: generation)
        }
        // Started from a pool thread so it does not inherit a low-priority caller's nice value.
        let name = "orderhub.worker.\(spec.slot)"
        DispatchQueue.global().async {
            let thread = Thread(block: body)
            thread.name = name
            thread.start()
        }
    }

    /// The worker's socket closed: fail what waits, report, restart unless stopping.
    private func ended(_ child: Child, channel: FrameChannel, generation: Int) {
        // No new call may pick this channel up, and then its descriptor is closed.
        live.withLock { l in if l.generation == generation { l.channel = nil } }
        channel.close()
        // Foundation reaps the child; its status says how it ended.
        child.process.waitUntilExit()
        let status = child.process.terminationStatus
        let reason: String
        if child.process.terminationReason == .uncaughtSignal {
            reason = "killed by signal \(status)\(status == 6 ? " (abort)" : status == 11 ? " (segmentation fault)" : status == 9 ? " (kill)" : "")"
        } else {
            reason = "exited with status \(status)"
        }
        let (current, stopping, restarts, quick) = live.withLock { l -> (Bool, Bool, Int, Int) in
            guard l.generation == generation else { return (false, l.stopping, l.restarts, l.quickDeaths) }
            l.channel = nil
            if !l.stopping {
                l.restarts += 1
                // A worker that served a minute starts the backoff afresh.
                l.quickDeaths = Clock.monotonicNanos() - l.startedAt > 60_000_000_000 ? 1 : l.quickDeaths + 1
            }
            return (true, l.stopping, l.restarts, l.quickDeaths)
        }
        let orphans = waiting.withLock { all -> [Waiter] in
            let list = Array(all.values)
            all.removeAll()
            return list
        }
        for waiter in orphans { waiter.done.signal() }  // no answer: the caller reports the crash
        guard current, !stopping else { return }
        logger.error("plugin worker for slot '\(spec.slot)' \(reason); restarting it (restart \(restarts))")
        crashed.withLock { $0 }?(reason, restarts)
        restart(after: quick)
    }

    /// Starts the worker again after a backoff (10 ms doubling to 5 s with quick deaths). A
    /// worker that starts but dies again is rescheduled by its reader (`ended`); one that
    /// cannot even be started is rescheduled here.
    private func restart(after quickDeaths: Int) {
        let delay = min(5_000, 10 << min(max(quickDeaths - 1, 0), 9))
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) { [self] in
            guard !live.withLock({ $0.stopping }) else { return }
            let before = live.withLock { $0.generation }
            do throws(LoadError) {
                _ = try start()
                // Stopped while it was starting: that worker must not outlive its instance.
                if live.withLock({ $0.stopping }) { shutDownCurrent() }
            } catch {
                logger.error("plugin worker for slot '\(spec.slot)' did not come back: \(error.message); trying again")
                let launched = live.withLock { $0.generation } != before
                if !launched {
                    let next = live.withLock { l -> Int in
                        l.quickDeaths += 1
                        return l.quickDeaths
                    }
                    restart(after: next)
                }
            }
        }
    }

    /// Sends one call and waits for its reply payload.
    func call(_ payload: [UInt8], timeoutMillis: Int? = nil) -> Result<[UInt8], PluginCallError> {
        guard payload.count + 9 <= FrameChannel.maxFrame else {
            return .failure(PluginCallError(plugin: spec.slot, call: "worker", status: 1, message: "a message of \(payload.count) bytes is over the worker protocol's \(FrameChannel.maxFrame >> 20) MiB limit"))
        }
        guard let (channel, generation) = live.withLock({ l in l.channel.map { ($0, l.generation) } }) else {
            return .failure(PluginCallError(plugin: spec.slot, call: "worker", status: 3, message: "the plugin's worker process is restarting"))
        }
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let waiter = Waiter()
        waiting.withLock { $0[id] = waiter }
        guard channel.send(.call, id: id, payload) else {
            waiting.withLock { _ = $0.removeValue(forKey: id) }
            return .failure(PluginCallError(plugin: spec.slot, call: "worker", status: 3, message: "the plugin's worker process is gone (restarting)"))
        }
        let limit = timeoutMillis ?? spec.callTimeoutMillis
        if waiter.done.wait(timeout: .now() + .milliseconds(limit)) == .timedOut {
            waiting.withLock { _ = $0.removeValue(forKey: id) }
            // A plugin that does not answer is as good as crashed: the worker is killed and restarted.
            // Only the worker this call went to (not one restarted since).
            let pid = live.withLock { $0.generation == generation && $0.channel != nil ? $0.pid : 0 }
            if pid > 0 { kill(pid, SIGKILL) }
            return .failure(PluginCallError(plugin: spec.slot, call: "worker", status: 4, message: "no answer from the plugin's worker in \(limit) ms; it was killed and is restarting"))
        }
        guard let answer = waiter.answer.withLock({ $0 }) else {
            return .failure(PluginCallError(plugin: spec.slot, call: "worker", status: 7, message: "the plugin's worker process crashed during the call; it is restarting"))
        }
        return .success(answer)
    }

    var restarts: Int { live.withLock { $0.restarts } }

    /// A worker whose instance could not be created: on the first start the caller is told
    /// and nothing restarts; on a restart, the restart loop tries again after its backoff.
    private func giveUp(first: Bool) {
        let channel = live.withLock { l -> FrameChannel? in
            if first { l.stopping = true }
            return l.channel
        }
        channel?.shutDown()
    }

    private func shutDownCurrent() {
        guard let channel = live.withLock({ $0.channel }) else { return }
        var w = WireWriter()
        w.u8(Method.destroy.rawValue)
        _ = call(w.bytes, timeoutMillis: 5_000)
        channel.shutDown()
    }

    /// Destroys the instance in the worker and lets the worker exit.
    func stop() {
        let channel = live.withLock { l -> FrameChannel? in
            l.stopping = true
            return l.channel
        }
        guard let channel else { return }
        var w = WireWriter()
        w.u8(Method.destroy.rawValue)
        _ = call(w.bytes, timeoutMillis: 5_000)
        channel.shutDown()
    }
}
