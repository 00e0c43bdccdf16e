import HubJSON
import HubPluginKit

/// A logistic-regression model file: standardised features, weights and an intercept.
struct LogisticModel: Sendable {
    struct Feature: Sendable {
        let name: String
        let weight: Double
        let mean: Double
        let scale: Double
    }
    let name: String
    let version: String
    let intercept: Double
    let features: [Feature]
    /// Local time of the training data relative to UTC (hour-of-day features use it).
    let utcOffsetMinutes: Int64

    static func load(path: String) throws(PluginError) -> LogisticModel {
        let document: JSONValue
        do {
            document = try JSONParser.parse(try PluginFiles.read(path))
        } catch let error as JSONParseError {
            throw .invalid("\(path):\(error.line):\(error.column): \(error.message)")
        } catch {
            throw error as! PluginError
        }
        guard document["type"]?.stringValue == "logistic_regression" else {
            throw .invalid("\(path): 'type' must be \"logistic_regression\"")
        }
        guard let name = document["model"]?.stringValue, let version = document["version"]?.stringValue else {
            throw .invalid("\(path): 'model' and 'version' are required strings")
        }
        guard let intercept = document["intercept"]?.doubleValue else { throw .invalid("\(path): 'intercept' must be a number") }
        var features: [Feature] = []
        for (index, entry) in (document["features"]?.arrayValue ?? []).enumerated() {
            let at = "\(path): features[\(index)]"
            guard let featureName = entry["name"]?.stringValue, OrderFeatures.names.contains(featureName) else {
                throw .invalid("\(at): 'name' must be one of \(OrderFeatures.names.joined(separator: ", "))")
            }
            guard let weight = entry["weight"]?.doubleValue, let mean = entry["mean"]?.doubleValue,
                let scale = entry["scale"]?.doubleValue, scale > 0
            else { throw .invalid("\(at) (\(featureName)): 'weight', 'mean' and a positive 'scale' are required") }
            features.append(Feature(name: featureName, weight: weight, mean: mean, scale: scale))
        }
        guard !features.isEmpty else { throw .invalid("\(path): 'features' must list at least one feature") }
        let offset = document["utc_offset_minutes"]?.intValue ?? 0
        guard (-14 * 60...14 * 60).contains(offset) else { throw .invalid("\(path): utc_offset_minutes must be within ±840") }
        return LogisticModel(name: name, version: version, intercept: intercept, features: features, utcOffsetMinutes: offset)
    }
}
