#if canImport(Glibc)
import Glibc
#endif

/// A LightGBM model read from the text format `Booster.save_model` writes, scored natively.
///
/// Follows LightGBM's own `Tree::Predict` (include/LightGBM/tree.h): numerical splits with
/// the three missing-value modes (None: NaN scores as 0; Zero; NaN) and default directions,
/// categorical splits on bitsets, and the objective's link function. Raw scores match
/// LightGBM's `predict(raw_score=True)` to within 1e-6 (Tests/ModelRuntimeTests).
public struct LightGBMModel: Sendable {
    public enum Objective: Sendable, Equatable {
        case binary(sigmoid: Double)
        case regression
        case other(String)
    }

    public let featureNames: [String]
    public let objective: Objective
    let trees: [Tree]

    /// Parses a model; errors name the line.
    public init(text: String) throws(ModelError) {
        // isNewline also splits "\r\n" (one Character in Swift), so Windows line ends work too.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        guard lines.first == "tree" else { throw ModelError(line: 1, "not a LightGBM text model (first line is not \"tree\")") }
        var header: [String: (value: String, line: Int)] = [:]
        var index = 1
        while index < lines.count, !lines[index].hasPrefix("Tree=") {
            if let (key, value) = Self.keyValue(lines[index]) { header[key] = (value, index + 1) }
            index += 1
        }
        guard let names = header["feature_names"]?.value.split(separator: " ").map(String.init), !names.isEmpty else {
            throw ModelError(line: index, "feature_names is missing")
        }
        if let perIteration = header["num_tree_per_iteration"], perIteration.value != "1" {
            throw ModelError(line: perIteration.line, "num_tree_per_iteration=\(perIteration.value): multiclass models are not supported yet")
        }
        featureNames = names
        objective = Self.objective(header["objective"]?.value ?? "")
        var trees: [Tree] = []
        while index < lines.count, lines[index].hasPrefix("Tree=") {
            let start = index + 1
            var fields: [String: String] = [:]
            index += 1
            while index < lines.count, !lines[index].isEmpty {
                if let (key, value) = Self.keyValue(lines[index]) { fields[key] = value }
                index += 1
            }
            trees.append(try Tree(fields: fields, line: start, featureCount: names.count))
            while index < lines.count, lines[index].isEmpty { index += 1 }
        }
        guard !trees.isEmpty else { throw ModelError(line: index, "the model has no trees") }
        self.trees = trees
    }

    public var treeCount: Int { trees.count }

    /// The sum of the trees' outputs, before the link function (LightGBM's raw score).
    public func rawScore(_ features: [Double]) -> Double {
        trees.reduce(0) { $0 + $1.predict(features) }
    }

    /// The prediction after the objective's link (a probability for binary models).
    public func predict(_ features: [Double]) -> Double {
        let raw = rawScore(features)
        switch objective {
        case .binary(let sigmoid): return 1 / (1 + exp(-sigmoid * raw))
        case .regression, .other: return raw
        }
    }

    static func objective(_ text: String) -> Objective {
        let parts = text.split(separator: " ")
        guard let name = parts.first else { return .other("") }
        switch name {
        case "binary":
            let sigmoid = parts.dropFirst().first { $0.hasPrefix("sigmoid:") }.flatMap { Double($0.dropFirst(8)) } ?? 1
            return .binary(sigmoid: sigmoid)
        case "regression", "regression_l2", "l2": return .regression
        default: return .other(String(name))
        }
    }

    static func keyValue(_ line: Substring) -> (String, String)? {
        guard let equals = line.firstIndex(of: "=") else { return nil }
        return (String(line[..<equals]), String(line[line.index(after: equals)...]))
    }
}

/// A problem in a model file, with its line.
public struct ModelError: Error, Sendable, CustomStringConvertible {
    public let line: Int
    public let message: String
    init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { "line \(line): \(message)" }
}

