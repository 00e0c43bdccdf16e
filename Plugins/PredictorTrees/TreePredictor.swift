import HubJSON
import HubModelRuntime
import HubPluginKit

/// Scores orders with a LightGBM or XGBoost model directory (model.txt or model.json, plus
/// features.json and metrics.json) as `scripts/train_late_delivery_lgbm.py` writes it.
/// Each score carries the model id and version, the top feature contributions (TreeSHAP,
/// LightGBM models) and a risk quadrant.
final class TreePredictor: PredictorPlugin {
    private enum Scorer: Sendable {
        case lightgbm(LightGBMModel)
        case xgboost(XGBoostModel)
    }

    private let scorer: Scorer
    private let spec: FeatureSpec
    private let name: String
    private let version: String
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
    private let neighbours: Neighbours?
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
        spec = try Self.load(directory + "/features.json") { text throws(ModelError) in try FeatureSpec(json: text) }
        if let text = try? PluginFiles.read(directory + "/model.txt") {
            let model = try Self.parse(directory + "/model.txt") { () throws(ModelError) in try LightGBMModel(text: String(decoding: text, as: UTF8.self)) }
            guard model.featureNames == spec.names else { throw Self.mismatch(directory, spec.names, model.featureNames) }
            scorer = .lightgbm(model)
        } else if let text = try? PluginFiles.read(directory + "/model.json") {
            let model = try Self.parse(directory + "/model.json") { () throws(ModelError) in try XGBoostModel(json: String(decoding: text, as: UTF8.self)) }
            guard model.featureNames.isEmpty || model.featureNames == spec.names else { throw Self.mismatch(directory, spec.names, model.featureNames) }
            scorer = .xgboost(model)
        } else {
            throw .invalid("config.model_dir: '\(directory)' has no model.txt (LightGBM) or model.json (XGBoost)")
        }
        let trained = try? JSONParser.parse(PluginFiles.read(directory + "/metrics.json"))
        name = trained?["model"]?.stringValue ?? "model"
        version = trained?["version"]?.stringValue ?? "unversioned"
        topContributions = Int(context.config["top_contributions"]?.intValue ?? 3)
        quadrant = try RiskQuadrant(config: context.config["quadrant"])
        let explainName = context.config["explain"]?.stringValue ?? Explain.actAndCritical.rawValue
        guard let explain = Explain(rawValue: explainName) else {
            throw .invalid("config.explain: '\(explainName)' is not one of all, act_and_critical, none")
        }
        self.explain = explain
        neighbours = try Neighbours(path: directory + "/neighbours.csv", spec: spec)
        var actions = Self.defaultActions
        for member in context.config["actions"]?.objectValue ?? [] {
            guard ["act", "critical"].contains(member.key), let text = member.value.stringValue else {
                throw .invalid("config.actions: '\(member.key)' must be act or critical, with a sentence for a person")
            }
            actions[member.key] = text
        }
        self.actions = actions
        host = context.host
        let h = context.host
        metrics = Metrics(
            score: try? h.defineMetric("prediction_score", kind: .histogram, help: "Predicted probability (buckets are the latency buckets: 0.05 = 5%)"),
            seconds: try? h.defineMetric("prediction_seconds", kind: .histogram, help: "Time to score one order, explanation included"),
            missing: try? h.defineMetric("prediction_missing_features_total", kind: .counter, help: "Features missing (NaN) across scored orders"),
            scored: try? h.defineMetric("predictions_total", kind: .counter, help: "Orders scored"),
            quadrants: Dictionary(uniqueKeysWithValues: ["low", "watch", "act", "critical"].compactMap { label in
                (try? h.defineMetric("prediction_quadrant_\(label)_total", kind: .counter, help: "Orders scored into the \(label) quadrant")).map { (label, $0) }
            }))
        context.host.log(.info, "model \(name) \(version): \(spec.names.count) features")
    }

    func score(_ order: OrderView) throws(PluginError) -> [UInt8] {
        let started = host.monotonicNanos()
        let record = OrderRecord.fields(of: order, utcOffsetMinutes: spec.utcOffsetMinutes)
        let row = spec.vector { record[$0] }
        let probability: Double
        switch scorer {
        case .lightgbm(let model): probability = model.predict(row)
        case .xgboost(let model): probability = model.predict(row)
        }
        let (label, highImpact) = quadrant.classify(order, probability: probability)
        var contributions: [(String, Double)] = []
        let wanted = explain == .all || (explain == .actAndCritical && (label == "act" || label == "critical"))
        if wanted, topContributions > 0, case .lightgbm(let model) = scorer, let phi = model.contributions(row) {
            contributions = zip(spec.names, phi).sorted { abs($0.1) > abs($1.1) }.prefix(topContributions).map { ($0.0, $0.1) }
        }
        let missing = row.filter(\.isNaN).count
        metrics.scored?.record(1)
        metrics.score?.record(probability)
        metrics.missing?.record(Double(missing))
        metrics.quadrants[label]?.record(1)
        metrics.seconds?.record(Double(host.monotonicNanos() - started) / 1e9)
        var writer = JSONWriter(capacity: 256)
        writer.object { o in
            o.field("model", name)
            o.field("version", version)
            o.field("score", (probability * 1_000_000).rounded() / 1_000_000)
            o.field("quadrant", label)
            o.field("high_impact", highImpact)
            o.object("contributions") { c in
                for (feature, value) in contributions { c.field(feature, (value * 10_000).rounded() / 10_000) }
            }
            o.field("missing_features", missing)
            // For the orders a person should look at: what to do, and orders like this one.
            if let action = actions[label] {
                o.object("suggestion") { s in
                    s.field("action", action)
                    if let neighbours {
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

    func health() -> JSONValue? { .object([("model", .string(name)), ("version", .string(version))]) }

    private static func load<T>(_ path: String, _ parse: (String) throws(ModelError) -> T) throws(PluginError) -> T {
        let bytes = try PluginFiles.read(path)
        do { return try parse(String(decoding: bytes, as: UTF8.self)) } catch { throw .invalid("\(path): \(error)") }
    }

    private static func parse<T>(_ path: String, _ body: () throws(ModelError) -> T) throws(PluginError) -> T {
        do { return try body() } catch { throw .invalid("\(path): \(error)") }
    }

    private static func mismatch(_ directory: String, _ spec: [String], _ model: [String]) -> PluginError {
        .invalid("\(directory): features.json lists \(spec) but the model was trained on \(model)")
    }
}
