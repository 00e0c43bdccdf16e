import HubLoader
import Yams

/// Reads a connector's `concurrency`, `circuit` and `reconcile` keys, and the manifest's
/// `fulfillment_health` thresholds.
enum ConnectorPolicyReader {
    static let circuitKeys = ["failures", "open_ms"]
    static let reconcileKeys = ["interval_ms", "stale_after_ms", "batch"]
    static let healthKeys = ["first_status_p99_ms", "consistency_ratio", "auto_repair_rate"]

    static func read(_ entry: Node.Mapping, kind: PluginDescriptor.Kind?, place: String, reader: NodeReader) -> Manifest.ConnectorPolicy {
        var policy = Manifest.ConnectorPolicy()
        for key in ["concurrency", "circuit", "reconcile"] where entry[key] != nil && kind != nil && kind != .connector {
            reader.report(entry[key]!, "\(place).\(key): only connectors have it")
        }
        if let n = entry["concurrency"], let v = reader.int(n, "\(place).concurrency", range: 1...64) { policy.concurrency = v }
        if let map = mapping(entry["circuit"], "\(place).circuit", keys: circuitKeys, reader: reader) {
            if let n = map["failures"], let v = reader.int(n, "\(place).circuit.failures", range: 1...1000) { policy.circuitFailures = v }
            if let n = map["open_ms"], let v = reader.int(n, "\(place).circuit.open_ms", range: 1...3_600_000) { policy.circuitOpenMillis = v }
        }
        if let map = mapping(entry["reconcile"], "\(place).reconcile", keys: reconcileKeys, reader: reader) {
            if let n = map["interval_ms"], let v = reader.int(n, "\(place).reconcile.interval_ms", range: 0...86_400_000) {
                policy.reconcileIntervalMillis = v
            }
            if let n = map["stale_after_ms"], let v = reader.int(n, "\(place).reconcile.stale_after_ms", range: 0...604_800_000) {
                policy.staleAfterMillis = v
            }
            if let n = map["batch"], let v = reader.int(n, "\(place).reconcile.batch", range: 1...10_000) { policy.reconcileBatch = v }
        }
        return policy
    }

    /// `fulfillment_health: {first_status_p99_ms: {yellow, red}, consistency_ratio: {yellow, red}, auto_repair_rate: {yellow, red}}`.
    static func readHealth(_ node: Node, reader: NodeReader) -> Manifest.HealthThresholds {
        var limits = Manifest.HealthThresholds()
        guard let map = mapping(node, "fulfillment_health", keys: healthKeys, reader: reader) else { return limits }
        if let pair = pair(map["first_status_p99_ms"], "fulfillment_health.first_status_p99_ms", reader: reader) {
            if pair.yellow > pair.red { reader.report(map["first_status_p99_ms"]!, "fulfillment_health.first_status_p99_ms: yellow (\(pair.yellow)) must not exceed red (\(pair.red)); higher latency is worse") }
            (limits.latencyP99YellowMillis, limits.latencyP99RedMillis) = pair
        }
        let ratios: [(String, WritableKeyPath<Manifest.HealthThresholds, Double>, WritableKeyPath<Manifest.HealthThresholds, Double>)] = [
            ("consistency_ratio", \.consistencyYellow, \.consistencyRed), ("auto_repair_rate", \.repairYellow, \.repairRed),
        ]
        for (key, yellowPath, redPath) in ratios {
            guard let pair = pair(map[key], "fulfillment_health.\(key)", reader: reader) else { continue }
            if pair.yellow < pair.red || pair.red < 0 || pair.yellow > 1 {
                reader.report(map[key]!, "fulfillment_health.\(key): ratios in 0...1 with red <= yellow (lower is worse)")
            }
            limits[keyPath: yellowPath] = pair.yellow
            limits[keyPath: redPath] = pair.red
        }
        return limits
    }

    private static func mapping(_ node: Node?, _ place: String, keys: [String], reader: NodeReader) -> Node.Mapping? {
        guard let node else { return nil }
        guard case .mapping(let map) = node else {
            reader.report(node, "\(place): expected a mapping with \(keys.joined(separator: ", "))")
            return nil
        }
        reader.rejectUnknown(map, allowed: keys, in: place)
        return map
    }

    private static func pair(_ node: Node?, _ place: String, reader: NodeReader) -> (yellow: Double, red: Double)? {
        guard let map = mapping(node, place, keys: ["yellow", "red"], reader: reader) else { return nil }
        guard let yellow = map["yellow"]?.float, let red = map["red"]?.float else {
            reader.report(node!, "\(place): needs numbers for both yellow and red")
            return nil
        }
        return (yellow, red)
    }
}
