#if canImport(Glibc)
import Glibc
#endif
import HubJSON

/// Maps a record (named raw values: the columns of orders-train.csv at training time, the
/// same names computed from an order at serving time) to a model's feature vector.
///
/// One implementation serves both sides: `orderhub features` builds the training matrix with
/// it and a predictor plugin builds each order's row with it, so they cannot drift apart.
///
/// ```json
/// {"version": 1, "utc_offset_minutes": -180, "features": [
///   {"name": "log_items_total", "field": "items_price_total", "transform": "log1p"},
///   {"name": "freight_ratio", "ratio": ["freight_total", "items_price_total"]},
///   {"name": "weekend", "field": "purchase_dow", "transform": "weekend"},
///   {"name": "customer_state", "field": "customer_state", "categories": ["SP", "RJ", "MG"]}]}
/// ```
public struct FeatureSpec: Sendable {
    public enum Transform: String, Sendable { case identity, log1p, weekend }

    public struct Feature: Sendable {
        public let name: String
        let fields: [String]
        let transform: Transform
        /// Category name → code, for categorical features (unknown or missing → NaN).
        let categories: [String: Double]?
        public var isCategorical: Bool { categories != nil }
    }

    public let features: [Feature]
    /// Local time of the training data relative to UTC (serving computes hour/day with it).
    public let utcOffsetMinutes: Int

    public var names: [String] { features.map(\.name) }

    public init(json text: String) throws(ModelError) {
        let document: JSONValue
        do { document = try JSONParser.parse(text) } catch { throw ModelError(line: error.line, "not valid JSON: \(error.message)") }
        guard document["version"]?.intValue == 1 else { throw ModelError(line: 1, "'version' must be 1") }
        utcOffsetMinutes = Int(document["utc_offset_minutes"]?.intValue ?? 0)
        guard let list = document["features"]?.arrayValue, !list.isEmpty else { throw ModelError(line: 1, "'features' must list at least one feature") }
        var features: [Feature] = []
        for (index, entry) in list.enumerated() {
            let at = "features[\(index)]"
            guard let name = entry["name"]?.stringValue, !name.isEmpty else { throw ModelError(line: 1, "\(at): 'name' is required") }
            let fields: [String]
            if let ratio = entry["ratio"]?.arrayValue?.compactMap(\.stringValue), ratio.count == 2 {
                fields = ratio
            } else if let field = entry["field"]?.stringValue {
                fields = [field]
            } else {
                throw ModelError(line: 1, "\(at) (\(name)): give 'field', or 'ratio': [numerator, denominator]")
            }
            let transformName = entry["transform"]?.stringValue ?? "identity"
            guard let transform = Transform(rawValue: transformName) else {
                throw ModelError(line: 1, "\(at) (\(name)): transform '\(transformName)' is not one of identity, log1p, weekend")
            }
            var categories: [String: Double]?
            if let names = entry["categories"]?.arrayValue {
                categories = Dictionary(uniqueKeysWithValues: names.enumerated().compactMap { code, value in
                    value.stringValue.map { ($0, Double(code)) }
                })
            }
            features.append(Feature(name: name, fields: fields, transform: transform, categories: categories))
        }
        self.features = features
    }

    /// The feature vector for one record; `value(field)` returns the raw text or nil when
    /// missing. Missing or unparsable numbers, and unknown categories, become NaN.
    public func vector(_ value: (String) -> String?) -> [Double] {
        features.map { feature in
            if let categories = feature.categories {
                return value(feature.fields[0]).flatMap { categories[$0] } ?? .nan
            }
            let numbers = feature.fields.map { field -> Double in
                guard let text = value(field), let number = Double(text) else { return .nan }
                return number
            }
            var x = numbers.count == 2 ? (numbers[1] != 0 ? numbers[0] / numbers[1] : .nan) : numbers[0]
            switch feature.transform {
            case .identity: break
            case .log1p: x = x > -1 ? log1p(x) : .nan
            case .weekend: x = x.isNaN ? .nan : (x >= 5 ? 1 : 0)
            }
            return x
        }
    }
}
