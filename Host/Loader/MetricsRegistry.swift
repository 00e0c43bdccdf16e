import Synchronization

/// Counters, gauges and histograms for the host and its plugins, rendered as Prometheus text.
/// Defined once, recorded by id: recording is an array index and a short lock, no lookup.
public final class MetricsRegistry: Sendable {
    public enum Kind: Int32, Sendable { case counter = 1, gauge = 2, histogram = 3 }

    /// Latency buckets in seconds, from 50 µs to 10 s.
    public static let buckets: [Double] = [
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]
    /// Buckets in seconds for business latencies (a warehouse's first status), 1 s to 1 day.
    public static let slowBuckets: [Double] = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 43_200, 86_400]

    struct Series: Sendable {
        let name: String
        let labels: String
        let kind: Kind
        let help: String
        var value: Double = 0
        var counts: [UInt64]
        var sum: Double = 0
        var bounds: [Double] = MetricsRegistry.buckets
    }

    private let series = Mutex<[Series]>([])

    public init() {}

    /// Defines (or finds) a series; `labels` is Prometheus label text such as `stage="rules"`.
    public func define(_ name: String, kind: Kind, help: String, labels: String = "", buckets: [Double] = MetricsRegistry.buckets) -> UInt32 {
        series.withLock { all in
            if let index = all.firstIndex(where: { $0.name == name && $0.labels == labels }) { return UInt32(index) }
            all.append(Series(name: name, labels: labels, kind: kind, help: help,
                              counts: kind == .histogram ? Array(repeating: 0, count: buckets.count + 1) : [], bounds: buckets))
            return UInt32(all.count - 1)
        }
    }

    public func record(_ id: UInt32, _ value: Double) {
        series.withLock { all in
            guard Int(id) < all.count else { return }
            switch all[Int(id)].kind {
            case .counter: all[Int(id)].value += max(0, value)
            case .gauge: all[Int(id)].value = value
            case .histogram:
                let bucket = all[Int(id)].bounds.firstIndex(where: { value <= $0 }) ?? all[Int(id)].bounds.count
                all[Int(id)].counts[bucket] += 1
                all[Int(id)].sum += value
            }
        }
    }

    /// The value of a counter or gauge (tests and health).
    public func value(_ id: UInt32) -> Double { series.withLock { Int(id) < $0.count ? $0[Int(id)].value : 0 } }

    /// Prometheus text exposition format 0.0.4.
    public func render() -> String {
        let snapshot = series.withLock { $0 }
        var out = ""
        var described: Set<String> = []
        for s in snapshot {
            if described.insert(s.name).inserted {
                out += "# HELP \(s.name) \(s.help)\n# TYPE \(s.name) \(["", "counter", "gauge", "histogram"][Int(s.kind.rawValue)])\n"
            }
            let braces = s.labels.isEmpty ? "" : "{\(s.labels)}"
            switch s.kind {
            case .counter, .gauge:
                out += "\(s.name)\(braces) \(format(s.value))\n"
            case .histogram:
                var cumulative: UInt64 = 0
                let prefix = s.labels.isEmpty ? "" : s.labels + ","
                for (index, bound) in s.bounds.enumerated() {
                    cumulative += s.counts[index]
                    out += "\(s.name)_bucket{\(prefix)le=\"\(bound)\"} \(cumulative)\n"
                }
                cumulative += s.counts[s.bounds.count]
                out += "\(s.name)_bucket{\(prefix)le=\"+Inf\"} \(cumulative)\n"
                out += "\(s.name)_sum\(braces) \(s.sum)\n\(s.name)_count\(braces) \(cumulative)\n"
            }
        }
        return out
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
