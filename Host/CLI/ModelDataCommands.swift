import ArgumentParser
import Foundation
import HubModelRuntime

/// `orderhub features`: the training matrix, computed by the same FeatureSpec code the
/// predictor uses at serving time (scripts/train_late_delivery_lgbm.py calls it).
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features", abstract: "Turn a CSV of records into a model's feature matrix (CSV), as the predictor does.")

    @Option(name: .long, help: "Feature specification (JSON).")
    var spec: String

    @Option(name: .long, help: "CSV with a header; columns are record fields (e.g. orders-train.csv).")
    var csv: String

    @Option(name: .long, help: "Column copied first into each output row (an id), if present.")
    var id: String = "order_id"

    func run() throws {
        let featureSpec = try loadSpec(spec)
        let table = try CSVTable(path: csv)
        Output.out(([id] + featureSpec.names).joined(separator: ","))
        for row in table.rows {
            let values = featureSpec.vector { table.value(row, $0) }
            Output.out(([table.value(row, id) ?? ""] + values.map { $0.isNaN ? "" : String($0) }).joined(separator: ","))
        }
    }
}

/// `orderhub predict`: a data scientist's check of a model on a new period.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Score a CSV of records with a model directory; prints order_id,score lines.")

    @Option(name: .long, help: "Model directory: model.txt (LightGBM) or model.json (XGBoost), and features.json.")
    var model: String

    @Option(name: .long, help: "CSV with a header; columns are record fields (e.g. orders-train.csv).")
    var csv: String

    @Option(name: .long, help: "Column that identifies a row.")
    var id: String = "order_id"

    func run() throws {
        let featureSpec = try loadSpec(model + "/features.json")
        let scorer = try ModelDirectory.load(model)
        guard scorer.featureNames == featureSpec.names else {
            throw ValidationError("\(model): features.json names \(featureSpec.names) but the model expects \(scorer.featureNames)")
        }
        let table = try CSVTable(path: csv)
        Output.out("\(id),score")
        for row in table.rows {
            let score = scorer.predict(featureSpec.vector { table.value(row, $0) })
            Output.out("\(table.value(row, id) ?? ""),\(score)")
        }
    }
}

func loadSpec(_ path: String) throws -> FeatureSpec {
    do {
        return try FeatureSpec(json: String(contentsOfFile: path, encoding: .utf8))
    } catch let error as ModelError {
        throw ValidationError("\(path): \(error)")
    }
}

/// A model directory as `train_late_delivery_lgbm.py` writes it.
enum ModelDirectory {
    struct Scorer {
        let featureNames: [String]
        let predict: ([Double]) -> Double
    }

    static func load(_ directory: String) throws -> Scorer {
        let files = FileManager.default
        do {
            if files.fileExists(atPath: directory + "/model.txt") {
                let model = try LightGBMModel(text: String(contentsOfFile: directory + "/model.txt", encoding: .utf8))
                return Scorer(featureNames: model.featureNames, predict: model.predict)
            }
            if files.fileExists(atPath: directory + "/model.json") {
                let model = try XGBoostModel(json: String(contentsOfFile: directory + "/model.json", encoding: .utf8))
                return Scorer(featureNames: model.featureNames, predict: model.predict)
            }
        } catch let error as ModelError {
            throw ValidationError("\(directory): \(error)")
        }
        throw ValidationError("\(directory): no model.txt (LightGBM) or model.json (XGBoost)")
    }
}

/// A small CSV reader (no quoted commas in our data; quotes are stripped).
struct CSVTable {
    let header: [String: Int]
    let rows: [[Substring]]

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline)
        guard !lines.isEmpty else { throw ValidationError("\(path): empty file") }
        let names = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .init(charactersIn: "\"")) }
        header = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        rows = lines.map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    }

    func value(_ row: [Substring], _ field: String) -> String? {
        guard let index = header[field], index < row.count else { return nil }
        let text = row[index]
        return text.isEmpty || text == "nan" ? nil : String(text)
    }
}
