import HubJSON
import HubModelRuntime
import HubPluginKit

/// One trained model as a directory holds it: model.txt (LightGBM) or model.json (XGBoost),
/// features.json, metrics.json (name and version) and, optionally, neighbours.csv.
struct ModelBundle: Sendable {
    enum Scorer: Sendable {
        case lightgbm(LightGBMModel)
        case xgboost(XGBoostModel)
    }

    let directory: String
    let scorer: Scorer
    let spec: FeatureSpec
    let name: String
    let version: String
    let neighbours: Neighbours?

    init(directory: String) throws(PluginError) {
        self.directory = directory
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
            throw .invalid("'\(directory)' has no model.txt (LightGBM) or model.json (XGBoost)")
        }
        let trained = try? JSONParser.parse(PluginFiles.read(directory + "/metrics.json"))
        name = trained?["model"]?.stringValue ?? "model"
        version = trained?["version"]?.stringValue ?? "unversioned"
        neighbours = try Neighbours(path: directory + "/neighbours.csv", spec: spec)
    }

    /// The feature row and probability for an order.
    func score(_ order: OrderView) -> (row: [Double], probability: Double) {
        let record = OrderRecord.fields(of: order, utcOffsetMinutes: spec.utcOffsetMinutes)
        let row = spec.vector { record[$0] }
        switch scorer {
        case .lightgbm(let model): return (row, model.predict(row))
        case .xgboost(let model): return (row, model.predict(row))
        }
    }

    /// Top contributions and the method that made them: TreeSHAP when `exact` (LightGBM),
    /// else path attribution (about the cost of scoring; XGBoost's approx_contribs for
    /// XGBoost models; see HubModelRuntime/PathContributions.swift).
    func explain(_ row: [Double], top: Int, exact: Bool) -> (contributions: [(String, Double)], method: String) {
        guard top > 0 else { return ([], "") }
        let phi: [Double]?
        let method: String
        switch scorer {
        case .lightgbm(let model):
            (phi, method) = exact ? (model.contributions(row), "treeshap") : (model.pathContributions(row), "path")
        case .xgboost(let model):
            (phi, method) = (model.pathContributions(row), "path")
        }
        guard let phi else { return ([], "") }
        return (zip(spec.names, phi).sorted { abs($0.1) > abs($1.1) }.prefix(top).map { ($0.0, $0.1) }, method)
    }

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
