import ArgumentParser
import HubCore
import HubJSON
import HubLoader
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `orderhub bench-swap`: orders at a steady rate through the full pipeline (predictor,
/// rules, durable commit, dispatch to a warehouse), and, midway, a live apply that swaps
/// the rules, the predictor and the connector for new images of themselves. Prints what was
/// lost or duplicated (from every order's timeline), the worst intake latency while the
/// swap ran beside the rest, and how long from apply to the new versions serving.
/// Figures, not assertions (benchmarks/swap/run.sh).
struct BenchSwapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-swap", abstract: "Swap rules, predictor and connector under a steady load; print loss, duplicates, latency.")

    @Option(name: .long, help: "Manifest to run (its connector must reach a warehouse, e.g. `orderhub dev vendors`).")
    var manifest: String = "manifests/default.yaml"

    @Option(name: .long, help: "Orders per second offered.")
    var rate: Int = 5_000

    @Option(name: .long, help: "Seconds of load.")
    var seconds: Double = 8

    @Option(name: .long, help: "Seconds into the load when the swap is applied.")
    var swapAt: Double = 4

    @Option(name: .long, help: "Slots to swap, comma-separated (default: every slot but the bus).")
    var slots: String?

    @Option(name: .long, help: "Base URL of the warehouse for the manifest's connectors (their config.base_url), e.g. `orderhub dev vendors`.")
    var vendor: String?

    @Option(name: .long, help: "Scratch folder for the bus and the new images (emptied first).")
    var scratch: String = "/tmp/orderhub-bench-swap"

    func run() async throws {
        var logger = Logger(label: "orderhub.bench-swap")
        logger.logLevel = .error
        _ = system("rm -rf '\(scratch)' && mkdir -p '\(scratch)/v2'")
        let base: Manifest
        do { base = try ManifestParser.load(path: manifest) } catch {
            Output.err(error.description)
            throw ExitCode(ExitCodes.manifestInvalid)
        }
        var running = base.replacingBusConfig(["path": .string(scratch + "/bus.db"), "synchronous": .string("full")])
        if let vendor {
            for var spec in running.connectors where spec.config["base_url"] != nil {
                spec.config = .object((spec.config.objectValue ?? []).map { $0.key == "base_url" ? ($0.key, .string(vendor)) : $0 })
                running = running.replacing(spec)
            }
        }
        // "v2" of each swapped slot: its library copied to a new path, so it loads as a separate
        // image beside v1 (what a new build would be), with its own checksum pin.
        var next = running
        var swapped: [String] = []
        let chosen = slots.map { Set($0.split(separator: ",").map(String.init)) }
        for spec in running.plugins where spec.kind != .stateBus && (chosen?.contains(spec.slot) ?? true) {
            var copy = spec
            copy.library = scratch + "/v2/" + (spec.library.split(separator: "/").last.map(String.init) ?? spec.slot)
            guard system("cp '\(spec.library)' '\(copy.library)'") == 0 else { throw ValidationError("cannot copy \(spec.library)") }
            copy.sha256 = try PluginLibrary(path: copy.library, expectedSHA256: nil).sha256
            next = next.replacing(copy)
            swapped.append(spec.slot)
        }
        let hub: Hub
        do { hub = try Hub.start(manifest: running, logger: logger) } catch {
            Output.err("orderhub bench-swap: \(error)")
            throw ExitCode(ExitCodes.pluginRefused)
        }
        let samples = Shared<[(start: UInt64, end: UInt64, id: String?)]>([])
        let applyTimes = Shared<(start: UInt64, end: UInt64, report: Composer.Report?, error: String?)>((0, 0, nil, nil))
        let planned = next
        let t0 = Clock.monotonicNanos()
        let total = Int(Double(rate) * seconds)
        let swapStart = t0 + UInt64(swapAt * 1e9)
        let swapper = Task.detached {
            while Clock.monotonicNanos() < swapStart { try? await Task.sleep(for: .milliseconds(1)) }
            let began = Clock.monotonicNanos()
            let outcome = Result { () throws(Composer.Failure) in try hub.composer.apply(planned) }
            let ended = Clock.monotonicNanos()
            applyTimes.value.withLock { times in
                times = (began, ended, try? outcome.get(), { if case .failure(let e) = outcome { return "\(e)" } else { return nil } }())
            }
        }
        // Open loop: orders are offered on schedule, whether or not earlier ones have finished.
        await withTaskGroup(of: Void.self) { group in
            var issued = 0
            while issued < total {
                let due = min(total, Int(Double(Clock.monotonicNanos() - t0) / 1e9 * Double(rate)))
                while issued < due {
                    let index = issued
                    issued += 1
                    group.addTask { [hub, samples] in
                        let started = Clock.monotonicNanos()
                        let outcome = await hub.orders.submit(body: OrderGenerator.body(seed: index), idempotencyKey: "swap-\(index)")
                        let ended = Clock.monotonicNanos()
                        var id: String?
                        if case .created(let created, _, _) = outcome { id = created }
                        samples.value.withLock { $0.append((started, ended, id)) }
                    }
                }
                try? await Task.sleep(for: .microseconds(500))
            }
        }
        await swapper.value
        let loadSeconds = Double(Clock.monotonicNanos() - t0) / 1e9
        // Let the connector deliver what is queued.
        let drainDeadline = Clock.monotonicNanos() + 60_000_000_000
        while hub.dispatchers.contains(where: { $0.backlog > 0 }) && Clock.monotonicNanos() < drainDeadline { usleep(10_000) }
        let all = samples.value.withLock { $0 }
        let times = applyTimes.value.withLock { $0 }
        let audit = audit(hub, all.compactMap(\.id))
        hub.shutdown()
        report(all, times, audit, swapped: swapped, offered: total, loadSeconds: loadSeconds)
    }

    struct Audit {
        var orders = 0, lost = 0, duplicated = 0, held = 0, dispatched = 0, notDispatched = 0
    }

    /// Reads every accepted order's timeline: one risk score, one rules answer, and (when
    /// released) one dispatch request acknowledged once.
    private func audit(_ hub: Hub, _ ids: [String]) -> Audit {
        var result = Audit()
        for id in ids {
            result.orders += 1
            guard let json = try? hub.plugins.bus.timeline(id), let events = (try? JSONParser.parse(json))?.arrayValue else {
                result.lost += 1
                continue
            }
            func count(_ type: String) -> Int { events.filter { $0["type"]?.stringValue == type }.count }
            let scored = count(EventTypes.riskScored), judged = count(EventTypes.rulesEvaluated)
            let requested = count(EventTypes.dispatchRequested), acked = count(EventTypes.dispatchAcknowledged)
            if scored > 1 || judged > 1 || requested > 1 || acked > 1 { result.duplicated += 1 }
            if scored == 0 || judged == 0 { result.lost += 1 }
            if events.contains(where: { $0["orderstate"]?.stringValue == "on_hold" }) { result.held += 1 }
            if requested == 1 { if acked == 1 { result.dispatched += 1 } else { result.notDispatched += 1 } }
        }
        return result
    }

    private func report(_ all: [(start: UInt64, end: UInt64, id: String?)], _ swap: (start: UInt64, end: UInt64, report: Composer.Report?, error: String?),
                        _ audit: Audit, swapped: [String], offered: Int, loadSeconds: Double) {
        func ms(_ ns: UInt64) -> Double { Double(ns) / 1e6 }
        func percentile(_ values: [Double], _ p: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        let latencies = all.map { ms($0.end - $0.start) }
        // Orders in flight at any moment of the apply, against those before it began.
        let during = all.filter { $0.end >= swap.start && $0.start <= swap.end }.map { ms($0.end - $0.start) }
        let before = all.filter { $0.end < swap.start }.map { ms($0.end - $0.start) }
        let created = all.filter { $0.id != nil }.count
        let f = { (value: Double) in String(format2: value) }
        var lines = [
            "orderhub bench-swap: \(offered) orders offered at \(rate)/s over \(f(loadSeconds)) s (\(Int(Double(all.count) / loadSeconds))/s answered); swap of \(swapped.joined(separator: ", ")) at \(f(swapAt)) s",
            "  accepted        \(created) of \(all.count) (\(all.count - created) refused)",
            "  lost            \(audit.lost) (timelines missing a step)    duplicated \(audit.duplicated) (a step twice)",
            "  dispatched      \(audit.dispatched) acknowledged once; \(audit.notDispatched) not acknowledged by the end; \(audit.held) held by rules",
            "  intake latency  before the swap p50 \(f(percentile(before, 0.5))) ms, p99 \(f(percentile(before, 0.99))) ms, max \(f(before.max() ?? 0)) ms",
            "                  during the swap (\(during.count) orders) p50 \(f(percentile(during, 0.5))) ms, p99 \(f(percentile(during, 0.99))) ms, max \(f(during.max() ?? 0)) ms",
            "                  whole run p99 \(f(percentile(latencies, 0.99))) ms, max \(f(latencies.max() ?? 0)) ms",
        ]
        if let report = swap.report {
            lines.append("  apply -> v2     \(f(ms(swap.end - swap.start))) ms from apply to every new version serving; calls held back per slot: " +
                         report.switchMillis.map { "\($0.slot) \(f($0.millis)) ms" }.joined(separator: ", "))
        } else {
            lines.append("  apply FAILED: \(swap.error ?? "?")")
        }
        Output.out(lines.joined(separator: "\n"))
    }
}

/// A lock-protected value shared with tasks.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
}
