import HubJSON
import HubModelRuntime
import HubPluginKit

/// Scores orders with a LightGBM or XGBoost model directory (model.txt or model.json, plus
/// features.json and metrics.json) as `scripts/train_late_delivery_lgbm.py` writes it.
/// Each score carries the model id and version, the top feature contributions (TreeSHAP,
/// LightGBM models) and a risk quadrant.
final class TreePredictor: PredictorPlugin {
    private let store: ModelStore
    private let topContributions: Int
    private let quadrant: RiskQuadrant
    /// Which orders get a TreeSHAP explanation: it costs ~70 µs per order, scoring ~3 µs.
    private let explain: Explain

    enum Explain: String, Sendable { case all, actAndCritical = "act_and_critical", none }

    /// Per-model metrics: score distribution, scoring latency, missing features, quadrants.
    private struct Metrics: Sendable {
        let score: HostServices.Metric?
        let seconds: HostServices.Metric?
        let missing: HostServices.Metric?
        let scored: HostServices.Metric?
        let quadrants: [String: HostServices.Metric]
    }
    private let metrics: Metrics
    private let host: HostServices
    private let shadowAgreement: HostServices.Metric?
    private let shadowDrift: HostServices.Metric?
    /// What a person is advised to do, per quadrant that gets a suggestion.
    private let actions: [String: String]
    static let defaultActions = [
        "act": "Confirm the carrier pick-up and the promised date; tell the customer early if it slips.",
        "critical": "Upgrade the shipping service or move the order to a warehouse closer to the customer, and tell the customer now.",
    ]

    init(context: PluginContext) throws(PluginError) {
        let known = ["model_dir", "top_contributions", "quadrant", "explain", "actions"]
        for member in context.config.objectValue ?? [] where !member.key.hasPrefix("_") && !known.contains(member.key) {
            throw .invalid("config: unknown key '\(member.key)' (known: \(known.joined(separator: ", ")))")
        }
        guard let directory = context.config["model_dir"]?.stringValue.map(context.resolvePath) else {
            throw .invalid("config.model_dir: required, a folder with model.txt or model.json and features.json")
        }
        let host = context.host
        store = try ModelStore(root: directory) { message in host.log(.info, message) }
        topContributions = Int(context.config["top_contributions"]?.intValue ?? 3)
        quadrant = try RiskQuadrant(config: context.config["quadrant"])
        let explainName = context.config["explain"]?.stringValue ?? Explain.actAndCritical.rawValue
        guard let explain = Explain(rawValue: explainName) else {
            throw .invalid("config.explain: '\(explainName)' is not one of all, act_and_critical, none")
        }
        self.explain = explain
        var actions = Self.defaultActions
        for member in context.config["actions"]?.objectValue ?? [] {
            guard ["act", "critical"].contains(member.key), let text = member.value.stringValue else {
                throw .invalid("config.actions: '\(member.key)' must be act or critical, with a sentence for a person")
            }
            actions[member.key] = text
        }
        self.actions = actions
        self.host = context.host
        let h = context.host
        shadowAgreement = try? h.defineMetric("prediction_shadow_agreement_total", kind: .counter,
                                              help: "Orders whose live and candidate models put them in the same quadrant")
        shadowDrift = try? h.defineMetric("prediction_shadow_drift", kind: .histogram,
                                          help: "|candidate score - live score| per order")
        metrics = Metrics(
            score: try? h.defineMetric("prediction_score", kind: .histogram, help: "Predicted probability (buckets are the latency buckets: 0.05 = 5%)"),
            seconds: try? h.defineMetric("prediction_seconds", kind: .histogram, help: "Time to score one order, explanation included"),
            missing: try? h.defineMetric("prediction_missing_features_total", kind: .counter, help: "Features missing (NaN) across scored orders"),
            scored: try? h.defineMetric("predictions_total", kind: .counter, help: "Orders scored"),
            quadrants: Dictionary(uniqueKeysWithValues: ["low", "watch", "act", "critical"].compactMap { label in
                (try? h.defineMetric("prediction_quadrant_\(label)_total", kind: .counter, help: "Orders scored into the \(label) quadrant")).map { (label, $0) }
            }))
        let live = store.current.live
        context.host.log(.info, "model \(live.name) \(live.version): \(live.spec.names.count) features")
    }

    func score(_ order: OrderView) throws(PluginError) -> [UInt8] {
        let started = host.monotonicNanos()
        let models = store.current
        let model = models.live
        let (row, probability) = model.score(order)
        let (label, highImpact) = quadrant.classify(order, probability: probability)
        // Every order is explained: exactly (TreeSHAP) where a person must act, by path
        // attribution (as cheap as scoring) elsewhere, unless `explain: none`.
        let exact = explain == .all || (explain == .actAndCritical && (label == "act" || label == "critical"))
        let (contributions, method) = explain == .none ? ([], "") : model.explain(row, top: topContributions, exact: exact)
        // Shadow: the candidate scores the same order; nothing acts on it.
        let shadow = models.candidate.map { candidate -> (version: String, score: Double, quadrant: String) in
            let score = candidate.score(order).probability
            let shadowLabel = quadrant.classify(order, probability: score).quadrant
            if shadowLabel == label { shadowAgreement?.record(1) }
            shadowDrift?.record(abs(score - probability))
            return (candidate.version, score, shadowLabel)
        }
        let missing = row.filter(\.isNaN).count
        metrics.scored?.record(1)
        metrics.score?.record(probability)
        metrics.missing?.record(Double(missing))
        metrics.quadrants[label]?.record(1)
        metrics.seconds?.record(Double(host.monotonicNanos() - started) / 1e9)
        var writer = JSONWriter(capacity: 256)
        writer.object { o in
            o.field("model", model.name)
            o.field("version", model.version)
            o.field("score", (probability * 1_000_000).rounded() / 1_000_000)
            o.field("quadrant", label)
            o.field("high_impact", highImpact)
            o.object("contributions") { c in
                for (feature, value) in contributions { c.field(feature, (value * 10_000).rounded() / 10_000) }
            }
            if !contributions.isEmpty { o.field("explanation", method) }
            o.field("missing_features", missing)
            if let shadow {
                o.object("shadow") { c in
                    c.field("version", shadow.version)
                    c.field("score", (shadow.score * 1_000_000).rounded() / 1_000_000)
                    c.field("quadrant", shadow.quadrant)
                }
            }
            // For the orders a person should look at: what to do, and orders like this one.
            if let action = actions[label] {
                o.object("suggestion") { s in
                    s.field("action", action)
                    if let neighbours = model.neighbours {
                        let similar = neighbours.nearest(row, k: 5)
                        s.field("late_share_among_similar", Double(similar.filter(\.past.late).count) / Double(max(similar.count, 1)))
                        s.array("similar_past_orders") { a in
                            for (past, distance) in similar {
                                a.object { p in
                                    p.field("order_id", past.orderID)
                                    p.field("late", past.late)
                                    if let delay = past.delayDays { p.field("delay_days", delay) }
                                    p.field("distance", (distance * 1000).rounded() / 1000)
                                }
                            }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }

    func health() -> JSONValue? {
        let models = store.current
        return .object([("model", .string(models.live.name)), ("version", .string(models.live.version)),
                        ("candidate", models.candidate.map { .string($0.version) } ?? .null)])
    }

    /// No model reload (and so no host log) after the host destroys the instance.
    func shutdown() { store.stop() }

    deinit { store.stop() }
}
