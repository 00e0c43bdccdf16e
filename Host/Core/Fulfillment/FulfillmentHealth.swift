import HubJSON
import HubLoader
import Synchronization

/// The fulfilment health indicators, kept continuously: creation → first warehouse status
/// latency (p50/p99 over the last 10,000 orders), the cross-system consistency ratio (orders
/// whose hub state matched the system's on their last check) and the automatic repair rate
/// (drifts repaired / drifts found). Each gets a level from the manifest's thresholds.
public final class FulfillmentHealth: Sendable {
    public enum Level: String, Sendable, Comparable {
        case blue, yellow, red
        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
        var rank: Int { self == .blue ? 0 : self == .yellow ? 1 : 2 }
    }

    struct Samples: ~Copyable {
        var latencies: [Double] = []
        var next = 0
        var lastCheck: [String: Bool] = [:]
        var driftFound = 0
        var repaired = 0
        var checks = 0
    }

    static let window = 10_000
    private let samples = Mutex(Samples())
    let thresholds: Manifest.HealthThresholds
    private let registry: MetricsRegistry
    private let latencyMetric: UInt32
    private let consistencyMetric: UInt32
    private let repairMetric: UInt32
    private let levelMetric: UInt32
    private let repairsMetric: UInt32

    init(thresholds: Manifest.HealthThresholds, registry: MetricsRegistry) {
        self.thresholds = thresholds
        self.registry = registry
        latencyMetric = registry.define("orderhub_fulfillment_first_status_seconds", kind: .histogram,
                                        help: "Order creation to the first status reported by a warehouse or carrier",
                                        buckets: MetricsRegistry.slowBuckets)
        consistencyMetric = registry.define("orderhub_fulfillment_consistency_ratio", kind: .gauge,
                                            help: "Orders whose hub state matched the external system's on their last check")
        repairMetric = registry.define("orderhub_fulfillment_auto_repair_rate", kind: .gauge, help: "Drifts repaired automatically / drifts found")
        levelMetric = registry.define("orderhub_fulfillment_health_level", kind: .gauge, help: "Worst indicator level: 0 blue, 1 yellow, 2 red")
        repairsMetric = registry.define("orderhub_fulfillment_repairs_total", kind: .counter, help: "Orders moved by the reconciler")
    }

    func firstStatus(afterMillis latency: Double) {
        registry.record(latencyMetric, latency / 1000)
        samples.withLock { s in
            if s.latencies.count < Self.window { s.latencies.append(latency) } else { s.latencies[s.next] = latency }
            s.next = (s.next + 1) % Self.window
        }
        publishGauges()
    }

    /// One reconciliation check of one order: did the two systems agree, and if not, was it repaired?
    func checked(_ order: String, consistent: Bool, repaired: Bool) {
        samples.withLock { s in
            if s.lastCheck.count > 200_000 { s.lastCheck.removeAll(keepingCapacity: true) }
            s.lastCheck[order] = consistent || repaired
            s.checks += 1
            if !consistent { s.driftFound += 1 }
            if repaired { s.repaired += 1 }
        }
        if repaired { registry.record(repairsMetric, 1) }
        publishGauges()
    }

    private func publishGauges() {
        let r = report()
        if let v = r.consistency { registry.record(consistencyMetric, v) }
        if let v = r.repairRate { registry.record(repairMetric, v) }
        registry.record(levelMetric, Double(r.level.rank))
    }

    struct Report {
        var p50: Double?
        var p99: Double?
        var latencySamples: Int
        var consistency: Double?
        var checkedOrders: Int
        var repairRate: Double?
        var driftFound: Int
        var repaired: Int
        var latencyLevel: Level
        var consistencyLevel: Level
        var repairLevel: Level
        var level: Level { max(latencyLevel, consistencyLevel, repairLevel) }
    }

    func report() -> Report {
        let (sorted, consistent, checked, drift, repaired) = samples.withLock { s in
            (s.latencies.sorted(), s.lastCheck.values.filter { $0 }.count, s.lastCheck.count, s.driftFound, s.repaired)
        }
        func quantile(_ q: Double) -> Double? { sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        let p99 = quantile(0.99)
        let consistency = checked == 0 ? nil : Double(consistent) / Double(checked)
        let repairRate = drift == 0 ? nil : Double(repaired) / Double(drift)
        let t = thresholds
        return Report(
            p50: quantile(0.5), p99: p99, latencySamples: sorted.count, consistency: consistency, checkedOrders: checked,
            repairRate: repairRate, driftFound: drift, repaired: repaired,
            latencyLevel: p99.map { $0 >= t.latencyP99RedMillis ? .red : $0 >= t.latencyP99YellowMillis ? .yellow : .blue } ?? .blue,
            consistencyLevel: consistency.map { $0 < t.consistencyRed ? .red : $0 < t.consistencyYellow ? .yellow : .blue } ?? .blue,
            repairLevel: repairRate.map { $0 < t.repairRed ? .red : $0 < t.repairYellow ? .yellow : .blue } ?? .blue)
    }

    /// GET /v1/health/fulfillment.
    public func json() -> [UInt8] {
        let r = report()
        let t = thresholds
        func number(_ v: Double?) -> JSONValue { v.map { .number(String(($0 * 10_000).rounded() / 10_000)) } ?? .null }
        var writer = JSONWriter()
        writer.object { o in
            o.field("level", r.level.rawValue)
            o.object("first_status_latency_ms") { x in
                x.field("p50", number(r.p50))
                x.field("p99", number(r.p99))
                x.field("samples", r.latencySamples)
                x.field("level", r.latencyLevel.rawValue)
                x.field("thresholds", .object([("yellow_p99", number(t.latencyP99YellowMillis)), ("red_p99", number(t.latencyP99RedMillis))]))
            }
            o.object("consistency_ratio") { x in
                x.field("value", number(r.consistency))
                x.field("orders_checked", r.checkedOrders)
                x.field("level", r.consistencyLevel.rawValue)
                x.field("thresholds", .object([("yellow_below", number(t.consistencyYellow)), ("red_below", number(t.consistencyRed))]))
            }
            o.object("auto_repair_rate") { x in
                x.field("value", number(r.repairRate))
                x.field("drift_found", r.driftFound)
                x.field("repaired", r.repaired)
                x.field("level", r.repairLevel.rawValue)
                x.field("thresholds", .object([("yellow_below", number(t.repairYellow)), ("red_below", number(t.repairRed))]))
            }
        }
        return writer.bytes
    }
}
