import HubJSON
import HubPluginKit

#if canImport(Glibc)
import Glibc
#endif

/// Scores late-delivery risk with a logistic regression and explains each score by the
/// features' contributions (weight x standardised value) to the log-odds.
final class LogisticPredictor: PredictorPlugin {
    private let model: LogisticModel

    init(context: PluginContext) throws(PluginError) {
        for member in context.config.objectValue ?? [] where !member.key.hasPrefix("_") && member.key != "model" {
            throw .invalid("config: unknown key '\(member.key)' (known: model)")
        }
        guard let path = context.config["model"]?.stringValue else {
            throw .invalid("config.model: required, path to a logistic-regression model file (JSON)")
        }
        model = try LogisticModel.load(path: context.resolvePath(path))
        context.host.log(.info, "model \(model.name) \(model.version) with \(model.features.count) features")
    }

    func score(_ order: OrderView) throws(PluginError) -> [UInt8] {
        var logit = model.intercept
        var contributions: [(String, Double)] = []
        for feature in model.features {
            let value = OrderFeatures.value(feature.name, of: order, utcOffsetMinutes: model.utcOffsetMinutes) ?? feature.mean
            let contribution = feature.weight * (value - feature.mean) / feature.scale
            logit += contribution
            contributions.append((feature.name, contribution))
        }
        let probability = 1 / (1 + exp(-logit))
        var writer = JSONWriter(capacity: 256)
        writer.object { o in
            o.field("model", model.name)
            o.field("version", model.version)
            o.field("score", (probability * 1_000_000).rounded() / 1_000_000)
            o.object("contributions") { c in
                for (name, value) in contributions { c.field(name, (value * 10_000).rounded() / 10_000) }
            }
        }
        return writer.bytes
    }

    func health() -> JSONValue? { .object([("model", .string(model.name)), ("version", .string(model.version))]) }
}
