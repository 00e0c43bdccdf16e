import ArgumentParser
import HubCore
import HubJSON
import HubLoader
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `orderhub bench`: generated orders through the full in-process pipeline (intake → rules →
/// predictor → durable group commit → dispatch enqueued), with figures, not assertions.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure orders/s, latency to dispatch-enqueued, ABI call overhead and RSS.")

    @Option(name: .long, help: "Manifest whose plugins to use (build with -c release for real figures).")
    var manifest: String = "manifests/default.yaml"

    @Option(name: .long, help: "Orders to push (after a warm-up of 2,000).")
    var orders: Int = 100_000

    @Option(name: .long, help: "Orders in flight at once.")
    var concurrency: Int = 256

    @Option(name: .long, help: "SQLite file for this run (fresh; deleted first).")
    var busPath: String = "/tmp/orderhub-bench.db"

    @Option(name: .long, help: "synchronous mode for the bus: full (fsync per group commit) or normal.")
    var synchronous: String = "full"

    @Option(name: .long, help: "Prefix of the idempotency keys (benchmark processes sharing one PostgreSQL bus use different ones).")
    var keyPrefix: String = "run"

    func run() async throws {
        var logger = Logger(label: "orderhub.bench")
        logger.logLevel = .error
        let base: Manifest
        do { base = try ManifestParser.load(path: manifest) } catch {
            Output.err(error.description)
            throw ExitCode(ExitCodes.manifestInvalid)
        }
        // A database server's bus (PostgreSQL) runs as the manifest says; an SQLite file is made fresh.
        let serverBus = base.bus?.config["url"] != nil
        if !serverBus { for suffix in ["", "-wal", "-shm"] { unlink(busPath + suffix) } }
        let composed = serverBus ? base : base.replacingBusConfig(["path": .string(busPath), "synchronous": .string(synchronous)])
        var options = Hub.Options()
        options.startDispatchers = false
        let hub: Hub
        do { hub = try Hub.start(manifest: composed, logger: logger, options: options) } catch {
            Output.err("orderhub bench: \(error)")
            throw ExitCode(ExitCodes.pluginRefused)
        }
        let bodies = (0..<1000).map { OrderGenerator.body(seed: $0) }
        _ = await drive(hub, count: 2_000, concurrency: concurrency, bodies: bodies, keyPrefix: keyPrefix + "-warm")
        let started = Clock.monotonicNanos()
        let latencies = await drive(hub, count: orders, concurrency: concurrency, bodies: bodies, keyPrefix: keyPrefix)
        let seconds = Double(Clock.monotonicNanos() - started) / 1e9
        if serverBus { reportBrief(latencies: latencies, seconds: seconds) } else { report(hub: hub, latencies: latencies, seconds: seconds) }
        hub.shutdown()
    }

    private func drive(_ hub: Hub, count: Int, concurrency: Int, bodies: [[UInt8]], keyPrefix: String) async -> [UInt64] {
        let next = Ticket()
        return await withTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var mine: [UInt64] = []
                    while true {
                        let index = next.take()
                        if index >= count { return mine }
                        let t0 = Clock.monotonicNanos()
                        let outcome = await hub.orders.submit(body: bodies[index % bodies.count], idempotencyKey: "\(keyPrefix)-\(index)")
                        if case .created = outcome { mine.append(Clock.monotonicNanos() - t0) } else {
                            Output.err("order \(index) not created: \(outcome)")
                        }
                    }
                }
            }
            var all: [UInt64] = []
            for await part in group { all.append(contentsOf: part) }
            return all
        }
    }

    /// Throughput and latency only (a bus on a database server: no local disk to probe).
    private func reportBrief(latencies: [UInt64], seconds: Double) {
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6 }
        Output.out("orderhub bench: \(latencies.count) orders, concurrency \(concurrency)")
        Output.out("  throughput        \(Int(Double(latencies.count) / seconds)) orders/s (\(String(format2: seconds)) s)")
        Output.out("  latency to dispatch-enqueued  p50 \(String(format2: percentile(0.5))) ms  p99 \(String(format2: percentile(0.99))) ms  max \(String(format2: percentile(1.0))) ms")
    }

    private func report(hub: Hub, latencies: [UInt64], seconds: Double) {
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
        }
        let metricsText = hub.metrics.registry.render()
        let events = MetricsText.value(metricsText, "orderhub_events_appended_total")
        let batches = MetricsText.value(metricsText, "orderhub_commit_batches_total")
        let commitSeconds = MetricsText.value(metricsText, "orderhub_commit_duration_seconds_sum")
        let syncRate = DiskProbe.fdatasyncPerSecond(directory: directoryOf(busPath))
        let swiftPlugin = hub.plugins.instances.first { $0.descriptor.kind == .rules } as? PluginInstance
        let cPlugin = hub.plugins.instances.first { $0.descriptor.kind == .connector } as? PluginInstance
        let swiftCall = swiftPlugin?.measureCallOverhead(iterations: 20_000_000)
        let cCall = cPlugin?.measureCallOverhead(iterations: 20_000_000)
        Output.out("""
            orderhub bench: \(latencies.count) orders, concurrency \(concurrency), bus synchronous=\(synchronous)
              throughput        \(Int(Double(latencies.count) / seconds)) orders/s (\(String(format2: seconds)) s)
              latency to dispatch-enqueued  p50 \(String(format2: percentile(0.5))) ms  p99 \(String(format2: percentile(0.99))) ms  p999 \(String(format2: percentile(0.999))) ms  max \(String(format2: percentile(1.0))) ms
              group commit      \(Int(events)) events in \(Int(batches)) commits = \(String(format2: batches > 0 ? events / batches : 0)) events/commit, \(String(format2: batches > 0 ? commitSeconds / batches * 1000 : 0)) ms/commit (bus thread busy \(Int(commitSeconds / seconds * 100))%)
              disk baseline     \(Int(syncRate)) fdatasync/s on this disk (1 orders/s per fsync would allow \(Int(syncRate)) orders/s: group commit ×\(String(format2: Double(latencies.count) / seconds / max(syncRate, 1))))
              ABI call (kind_api, 20M calls each)
                into the C plugin     \(String(format2: cCall?.abi ?? 0)) ns vs \(String(format2: cCall?.direct ?? 0)) ns for the same lookup as a direct Swift call (+\(String(format2: (cCall?.abi ?? 0) - (cCall?.direct ?? 0))) ns)
                into the Swift plugin \(String(format2: swiftCall?.abi ?? 0)) ns vs \(String(format2: swiftCall?.direct ?? 0)) ns direct (+\(String(format2: (swiftCall?.abi ?? 0) - (swiftCall?.direct ?? 0))) ns)
              RSS               \(residentMegabytes()) MiB
            """)
    }

    private func residentMegabytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0, resident = 0
        withUnsafeMutablePointer(to: &size) { s in
            withUnsafeMutablePointer(to: &resident) { r in
                _ = withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) }
            }
        }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE))) / (1 << 20)
    }
}

func directoryOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return String(path[..<slash])
}

/// How many write+fdatasync round trips the disk under the bus does per second: the
/// physics a commit-per-order design would be bound by.
enum DiskProbe {
    static func fdatasyncPerSecond(directory: String, rounds: Int = 500) -> Double {
        let path = directory + "/orderhub-fsync-probe"
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard fd >= 0 else { return 0 }
        defer { close(fd); unlink(path) }
        let block = [UInt8](repeating: 0x2A, count: 4096)
        let start = Clock.monotonicNanos()
        for _ in 0..<rounds {
            _ = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            fdatasync(fd)
        }
        return Double(rounds) / (Double(Clock.monotonicNanos() - start) / 1e9)
    }
}

enum MetricsText {
    /// Sum of a metric's samples in Prometheus text.
    static func value(_ text: String, _ name: String) -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}

/// Orders of varied shape: 1-5 lines, some presale, totals on both sides of the sample rules' thresholds.
enum OrderGenerator {
    static func body(seed: Int) -> [UInt8] {
        var rng = seed &* 2_654_435_761 & 0x7fff_ffff
        func next(_ bound: Int) -> Int { rng = (rng &* 1_103_515_245 &+ 12_345) & 0x7fff_ffff; return rng % bound }
        let lines = 1 + next(5)
        let items = (0..<lines).map { i in
            #"{"sku":"SKU-\#(next(500))","quantity":\#(1 + next(3)),"unit_price":"\#(5 + next(400)).\#(10 + next(89))","category":"cat-\#(next(20))","presale":\#(i == 0 && next(10) == 0)}"#
        }.joined(separator: ",")
        let text = """
            {"external_ref":"BENCH-\(seed)","channel":"web","currency":"BRL","customer":{"id":"c-\(next(10_000))","tier":"standard"},\
            "items":[\(items)],"ship_to":{"country":"BR","region":"SP","postal_code":"01001-000"},"payment":{"method":"credit_card"},\
            "shipping":{"fee":"\(10 + next(40)).00","promised_days":\(5 + next(30))},"created_at":"2026-11-25T20:\(10 + next(49)):00Z",\
            "client_ip":"203.0.113.\(next(250))"}
            """
        return Array(text.utf8)
    }
}

/// Hands out 0, 1, 2, ... to concurrent workers.
final class Ticket: Sendable {
    private let counter = Atomic<Int>(0)
    func take() -> Int { counter.add(1, ordering: .relaxed).oldValue }
}
