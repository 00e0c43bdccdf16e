import HubJSON
import HubPluginKit

/// Impact × probability → low / watch / act / critical (config `quadrant:`).
///
/// Default: impact is high when the order is worth at least 500.00 or the customer's tier is
/// gold or platinum; probability is high from 0.10. low = neither, watch = high impact only,
/// act = high probability only, critical = both.
struct RiskQuadrant: Sendable {
    var impactValueMinor: Int64 = 50_000
    var highTiers: Set<String> = ["gold", "platinum"]
    var probabilityThreshold = 0.10

    init(config: JSONValue?) throws(PluginError) {
        guard let config else { return }
        for member in config.objectValue ?? [] where !["impact_value", "high_tiers", "probability"].contains(member.key) {
            throw .invalid("config.quadrant: unknown key '\(member.key)' (known: impact_value, high_tiers, probability)")
        }
        if let value = config["impact_value"]?.doubleValue { impactValueMinor = Int64((value * 100).rounded()) }
        if let tiers = config["high_tiers"]?.arrayValue { highTiers = Set(tiers.compactMap(\.stringValue)) }
        if let probability = config["probability"]?.doubleValue {
            guard (0...1).contains(probability) else { throw .invalid("config.quadrant.probability: \(probability) is not in [0, 1]") }
            probabilityThreshold = probability
        }
    }

    func classify(_ order: OrderView, probability: Double) -> (quadrant: String, highImpact: Bool) {
        let highImpact = order.itemsTotalMinor >= impactValueMinor || highTiers.contains(order.customerTier)
        let likely = probability >= probabilityThreshold
        switch (highImpact, likely) {
        case (false, false): return ("low", highImpact)
        case (true, false): return ("watch", highImpact)
        case (false, true): return ("act", highImpact)
        case (true, true): return ("critical", highImpact)
        }
    }
}
