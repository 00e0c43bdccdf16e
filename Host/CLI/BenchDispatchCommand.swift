import ArgumentParser
import HubCore
import HubJSON
import HubLoader
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `orderhub bench-dispatch`: connector deliveries per second with the outbox durable. N
/// orders are committed with their dispatch requests while the connector's workers wait;
/// then the workers start and the clock runs until all are delivered to URL, each delivery's
/// acknowledgement committed (fsync) before the item is settled. Figures, not assertions;
/// benchmarks/connectors/run.sh sets them beside a bare libcurl loop to the same server.
struct BenchDispatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-dispatch", abstract: "Measure connector dispatches/s (durable outbox) to a local HTTP server.")

    @Option(name: .long, help: "Where the connector POSTs (e.g. `orderhub dev vendors`' http://127.0.0.1:9090/sink).")
    var url: String

    @Option(name: .long, help: "Orders to dispatch.")
    var orders: Int = 20_000

    @Option(name: .long, help: "Deliveries in flight (the connector's concurrency).")
    var concurrency: Int = 4

    @Option(name: .long, help: "Folder with the built plugins.")
    var build: String = ".build/release"

    @Option(name: .long, help: "Scratch folder for the manifest and the bus (emptied first).")
    var scratch: String = "/tmp/orderhub-bench-dispatch"

    @Option(name: .long, help: "Write the dispatch body of the first order here (for the bare libcurl loop).")
    var writeBody: String?

    func run() async throws {
        var logger = Logger(label: "orderhub.bench-dispatch")
        logger.logLevel = .error
        let manifest = try writeManifest()
        var paused = Hub.Options()
        paused.dispatchPaused = true
        let hub = try start(manifest, options: paused, logger: logger)
        // Orders go in with their dispatch requests committed; the connector's workers wait.
        let ids = await submit(hub)
        if let writeBody, let first = ids.first, let body = hub.dispatchPayload(order: first) {
            let file = fopen(writeBody, "wb")
            _ = body.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        while hub.dispatchers.contains(where: { $0.backlog < ids.count }) { usleep(1_000) }
        let t1 = Clock.monotonicNanos()
        hub.resumeDispatch()
        while hub.dispatchers.contains(where: { $0.backlog > 0 }) { usleep(1_000) }
        let t2 = Clock.monotonicNanos()
        let acknowledged = MetricsText.value(hub.metrics.registry.render(), "orderhub_dispatch_total{outcome=\"acknowledged\"}")
        hub.shutdown()
        let seconds = Double(t2 - t1) / 1e9
        Output.out("""
            orderhub bench-dispatch: \(ids.count) dispatches to \(url), concurrency \(concurrency), bus synchronous=full
              delivered  \(Int(acknowledged)) acknowledged and committed in \(String(format2: seconds)) s = \(Int(Double(ids.count) / seconds))/s
            """)
    }

    private func writeManifest() throws -> String {
        _ = system("rm -rf '\(scratch)' && mkdir -p '\(scratch)'")
        let path = scratch + "/bench.yaml"
        let build = self.build.hasPrefix("/") ? self.build : String(cString: getcwd(nil, 0)) + "/" + self.build
        let text = """
            version: 1
            plugins:
              bus:
                kind: state_bus
                library: \(build)/libStateBusSQLite.so
                sha256: \(String(repeating: "0", count: 64))
                config: {path: \(scratch)/bus.db, synchronous: full}
              wms:
                kind: connector
                library: \(build)/libHTTPConnector.so
                sha256: \(String(repeating: "0", count: 64))
                concurrency: \(concurrency)
                reconcile: {interval_ms: 0}
                config: {url: "\(url)", timeout_ms: 5000}
            """
        guard let file = fopen(path, "w") else { throw ValidationError("cannot write \(path)") }
        fputs(text, file)
        fclose(file)
        _ = try ManifestPinner.pin(path: path)
        return path
    }

    private func start(_ path: String, options: Hub.Options, logger: Logger) throws -> Hub {
        do {
            return try Hub.start(manifest: try ManifestParser.load(path: path), logger: logger, options: options)
        } catch {
            Output.err("orderhub bench-dispatch: \(error)")
            throw ExitCode(ExitCodes.pluginRefused)
        }
    }

    private func submit(_ hub: Hub) async -> [String] {
        let next = Ticket()
        return await withTaskGroup(of: [String].self) { group in
            for _ in 0..<64 {
                group.addTask {
                    var mine: [String] = []
                    while true {
                        let index = next.take()
                        if index >= orders { return mine }
                        if case .created(let id, _, _) = await hub.orders.submit(body: OrderGenerator.body(seed: index), idempotencyKey: "d-\(index)") {
                            mine.append(id)
                        }
                    }
                }
            }
            var all: [String] = []
            for await part in group { all += part }
            return all
        }
    }
}
