import ArgumentParser
import HubCore
import HubJSON
import HubLoader
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `orderhub bench-isolation`: what a call costs when the plugin runs in a worker process
/// (`isolation: process`) against the same plugin in the hub's process, in the same run: the
/// same order evaluated (or scored) N times, one call at a time.
struct BenchIsolationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-isolation", abstract: "Cost per call of an isolated plugin (worker process) vs in-process.")

    @Option(name: .long, help: "Manifest whose slot to measure.") var manifest: String = "manifests/default.yaml"
    @Option(name: .long, help: "A rules or predictor slot.") var slot: String = "rules"
    @Option(name: .long, help: "Calls per round (after 1,000 to warm up).") var calls: Int = 20_000
    @Option(name: .long, help: "Scratch folder for the bus.") var scratch: String = "/tmp/orderhub-bench-isolation"

    func run() async throws {
        var logger = Logger(label: "orderhub.bench-isolation")
        logger.logLevel = .error
        _ = system("rm -rf '\(scratch)' && mkdir -p '\(scratch)'")
        let base: Manifest
        do { base = try ManifestParser.load(path: manifest) } catch {
            Output.err(error.description)
            throw ExitCode(ExitCodes.manifestInvalid)
        }
        guard var spec = base.plugin(slot), spec.kind == .rules || spec.kind == .predictor else {
            throw ValidationError("no rules or predictor slot '\(slot)' in \(manifest)")
        }
        // The same plugin twice: once in the hub's process, once in a worker of its own.
        var composed = base.replacingBusConfig(["path": .string(scratch + "/bus.db"), "synchronous": .string("normal")])
        spec.isolation = .process
        var isolated = spec
        isolated.slot = slot + "_isolated"
        composed = composed.adding(isolated)
        var options = Hub.Options()
        options.startDispatchers = false
        let hub: Hub
        do { hub = try Hub.start(manifest: composed, logger: logger, options: options) } catch {
            Output.err("orderhub bench-isolation: \(error)")
            throw ExitCode(ExitCodes.pluginRefused)
        }
        defer { hub.shutdown() }
        guard let local = hub.plugins.instance(slot), let remote = hub.plugins.instance(isolated.slot) else { throw ExitCode(ExitCodes.runtimeFailure) }
        var order: OrderFields
        do { order = try OrderRequest.parse(OrderGenerator.body(seed: 7), id: "ord_bench_isolation") } catch {
            throw ValidationError("the generated order does not parse")
        }
        let isRules = spec.kind == .rules
        func measure(_ plugin: any PluginHandle, _ count: Int) -> Double {
            let started = Clock.monotonicNanos()
            for _ in 0..<count { _ = try? (isRules ? plugin.evaluate(order) : plugin.score(order)) }
            return Double(Clock.monotonicNanos() - started) / Double(count) / 1000
        }
        _ = measure(local, 1_000)
        _ = measure(remote, 1_000)
        var rounds: [(Double, Double)] = []
        for _ in 0..<3 { rounds.append((measure(local, calls), measure(remote, calls))) }
        let inProcess = rounds.map(\.0).sorted()[1], worker = rounds.map(\.1).sorted()[1]
        order.json = []
        Output.out("""
            orderhub bench-isolation: \(spec.kind.name) '\(slot)' (\(local.descriptor.id) \(local.descriptor.version)), \(calls) calls x 3 rounds, median round
              in-process        \(String(format2: inProcess)) us/call (the plugin's own work plus the ABI call)
              isolated          \(String(format2: worker)) us/call (the same, plus the round trip to its worker process)
              isolation costs   \(String(format2: worker - inProcess)) us/call more = \(String(format2: worker / max(inProcess, 0.001)))x
            """)
    }
}
