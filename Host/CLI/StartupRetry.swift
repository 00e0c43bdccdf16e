import ArgumentParser
import HubCore
import HubHTTP
import HubJSON
import HubLoader
import Hummingbird
import Logging
import Synchronization

/// Starts the hub, and when a plugin says "not now" at create (HUB_AGAIN: its database does
/// not answer yet), keeps trying with backoff (0.5 s doubling to 30 s) instead of exiting. In
/// the meantime the port answers: `/v1/health` is 503 with the reason, everything else 503
/// with Retry-After, so a load balancer and a person both see why the node is not serving.
enum StartupRetry {
    static func start(manifest: Manifest, options: Hub.Options, host: String, port: Int, logger: Logger) async throws -> Hub {
        var waiting: Task<Void, any Error>?
        var delay = 0.5
        var attempt = 1
        let reason = ReasonBox()
        // Set by the placeholder server's task (a signal ended it) and by this loop (the real
        // hub takes the port over), read by both.
        let stopped = Flag()
        let handingOver = Flag()
        defer { waiting?.cancel() }
        while true {
            let started = Result { () throws(LoadError) in try Hub.start(manifest: manifest, logger: logger, options: options) }
            switch started {
            case .success(let hub):
                if let waiting {
                    handingOver.raise()
                    waiting.cancel()
                    _ = await waiting.result
                }
                waiting = nil
                // A stop asked for while this last attempt ran: honour it.
                if stopped.isRaised {
                    hub.shutdown()
                    Output.out("orderhub: stopped before the hub started")
                    throw ExitCode.success
                }
                if attempt > 1 { logger.info("started after \(attempt) attempts") }
                return hub
            case .failure(let error) where error.temporary:
                reason.set(error.message)
                Output.err("orderhub: cannot start yet (attempt \(attempt)): \(error.message); retrying in \(delay) s")
                if waiting == nil {
                    let app = Application(
                        router: router(reason), configuration: .init(address: .hostname(host, port: port), serverName: "orderhub"), logger: logger)
                    waiting = Task {
                        // Only a signal ends the placeholder server normally (not our hand-over, not a
                        // port that cannot be bound: that shows when the real server binds it).
                        try await app.runService()
                        if !handingOver.isRaised { stopped.raise() }
                    }
                }
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                // SIGTERM/SIGINT while waiting stops the placeholder server: stop here too.
                if let running = waiting, stopped.isRaised {
                    _ = await running.result
                    Output.out("orderhub: stopped before the hub started")
                    throw ExitCode.success
                }
                delay = min(delay * 2, 30)
                attempt += 1
            case .failure(let error):
                Output.err("orderhub: cannot start: \(error)")
                throw ExitCode(ExitCodes.pluginRefused)
            }
        }
    }

    private static func router(_ reason: ReasonBox) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/v1/health") { _, _ -> Response in
            var writer = JSONWriter()
            writer.object { o in
                o.field("status", "starting")
                o.field("reason", reason.get())
            }
            return Response(status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "5"],
                            body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
        }
        router.addMiddleware { StartingMiddleware(reason: reason) }
        return router
    }
}

/// Every other route while starting: 503 with Retry-After and the reason.
private struct StartingMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let reason: ReasonBox
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/v1/health" { return try await next(request, context) }
        var writer = JSONWriter()
        writer.object { o in
            o.field("error", "starting")
            o.field("message", "the hub is starting: \(reason.get())")
        }
        return Response(status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "5"],
                        body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}

private final class ReasonBox: Sendable {
    private let value = Mutex<String>("")
    func set(_ text: String) { value.withLock { $0 = text } }
    func get() -> String { value.withLock { $0 } }
}

private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func raise() { value.store(true, ordering: .releasing) }
    var isRaised: Bool { value.load(ordering: .acquiring) }
}
