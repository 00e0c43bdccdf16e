import HubJSON

#if canImport(Glibc)
import Glibc
#endif

/// An XGBoost model read from the JSON format `Booster.save_model("m.json")` writes.
///
/// Scores as XGBoost's CPU predictor does, in single precision: features and split values
/// are `Float`, a numerical split goes left when `value < split`, a missing value (NaN)
/// follows `default_left`, a categorical split sends the categories in its set right and
/// every other category (unseen, negative) left, and leaf values add up in `Float` on top of
/// the base margin. Matches `predict(output_margin=True)` to 1e-6 (Tests/ModelRuntimeTests).
public struct XGBoostModel: Sendable {
    public let featureNames: [String]
    public let objective: String
    let baseMargin: Float
    let trees: [XGBoostTree]

    public init(json text: String) throws(ModelError) {
        let document: JSONValue
        do {
            document = try JSONParser.parse(text)
        } catch {
            throw ModelError(line: error.line, "not valid JSON: \(error.message)")
        }
        guard let learner = document["learner"] else { throw ModelError(line: 1, "no \"learner\": not an XGBoost JSON model") }
        objective = learner["objective"]?["name"]?.stringValue ?? ""
        guard ["binary:logistic", "reg:squarederror", "reg:logistic", "binary:logitraw"].contains(objective) else {
            throw ModelError(line: 1, "objective '\(objective)' is not supported (binary:logistic, binary:logitraw, reg:logistic, reg:squarederror)")
        }
        let parameters = learner["learner_model_param"]
        if let targets = parameters?["num_target"]?.stringValue, targets != "1" {
            throw ModelError(line: 1, "num_target=\(targets): multi-output models are not supported yet")
        }
        let base = Self.firstFloat(parameters?["base_score"]?.stringValue ?? "0.5") ?? 0.5
        // XGBoost stores base_score as a probability for logistic objectives (ProbToMargin).
        let logistic = objective == "binary:logistic" || objective == "reg:logistic"
        baseMargin = logistic ? -logf(1 / base - 1) : base
        guard let model = learner["gradient_booster"]?["model"], let treeList = model["trees"]?.arrayValue, !treeList.isEmpty else {
            throw ModelError(line: 1, "gradient_booster.model.trees is missing (only gbtree models are supported)")
        }
        featureNames = learner["feature_names"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var trees: [XGBoostTree] = []
        for (index, tree) in treeList.enumerated() { trees.append(try XGBoostTree(tree, index: index)) }
        self.trees = trees
    }

    /// The margin (before the sigmoid), as XGBoost's `output_margin=True`.
    public func margin(_ features: [Double]) -> Double {
        let values = features.map(Float.init)
        var sum = baseMargin
        for tree in trees { sum += tree.predict(values) }
        return Double(sum)
    }

    /// The prediction after the objective's link (a probability for logistic objectives).
    public func predict(_ features: [Double]) -> Double {
        let raw = Float(margin(features))
        switch objective {
        case "binary:logistic", "reg:logistic": return Double(1 / (1 + expf(-raw)))
        default: return Double(raw)
        }
    }

    /// Path-attribution contributions as XGBoost's `predict(pred_contribs=True,
    /// approx_contribs=True)`: one per feature, then the bias (base margin included); they add
    /// up to `margin(features)`. nil when the model file has no `sum_hessian`.
    public func pathContributions(_ features: [Double]) -> [Double]? {
        guard trees.allSatisfy({ !$0.nodeMean.isEmpty }) else { return nil }
        let values = features.map(Float.init)
        var total = [Float](repeating: 0, count: featureNames.count + 1)
        var perTree = total
        for tree in trees {
            for index in perTree.indices { perTree[index] = 0 }
            tree.addPathContributions(values, into: &perTree)
            for index in total.indices { total[index] += perTree[index] }
        }
        total[featureNames.count] += baseMargin
        return total.map(Double.init)
    }

    /// "[4.5029845E-2]" or "0.5" → 0.045029845.
    static func firstFloat(_ text: String) -> Float? {
        Float(text.trimmingCharacters(in: "[] ").split(separator: ",").first.map(String.init) ?? "")
    }
}

/// One tree in XGBoost's JSON layout (parallel arrays indexed by node id).
final class XGBoostTree: Sendable {
    let left: [Int32]
    let right: [Int32]
    let feature: [Int32]
    let split: [Float]
    let defaultLeft: [Bool]
    let categorical: [Bool]
    /// Per node: the categories that go right, as a bitset (empty for numerical nodes).
    let categories: [[UInt32]]
    /// Per node: mean output weighted by sum_hessian (XGBoost's FillNodeMeanValues), for
    /// path contributions; empty when the model has no sum_hessian.
    let nodeMean: [Float]

    init(_ tree: JSONValue, index: Int) throws(ModelError) {
        func ints(_ key: String) throws(ModelError) -> [Int32] {
            guard let list = tree[key]?.arrayValue else { throw ModelError(line: 1, "trees[\(index)].\(key) is missing") }
            return list.map { Int32($0.intValue ?? -1) }
        }
        left = try ints("left_children")
        right = try ints("right_children")
        feature = try ints("split_indices")
        // Parsed straight to Float from the text (no detour through Double: no double rounding).
        split = (tree["split_conditions"]?.arrayValue ?? []).map { value -> Float in
            if case .number(let text) = value { return Float(text) ?? .nan } else { return .nan }
        }
        defaultLeft = try ints("default_left").map { $0 != 0 }
        let nodes = left.count
        guard [right.count, feature.count, split.count, defaultLeft.count].allSatisfy({ $0 == nodes }), nodes > 0 else {
            throw ModelError(line: 1, "trees[\(index)]: node arrays differ in length")
        }
        guard left.allSatisfy({ $0 == -1 || (0..<Int32(nodes)).contains($0) }), right.allSatisfy({ $0 == -1 || (0..<Int32(nodes)).contains($0) }) else {
            throw ModelError(line: 1, "trees[\(index)]: a child index points outside the tree")
        }
        categorical = (tree["split_type"]?.arrayValue ?? []).map { $0.intValue == 1 } + Array(repeating: false, count: max(0, nodes - (tree["split_type"]?.arrayValue?.count ?? 0)))
        var sets = Array(repeating: [UInt32](), count: nodes)
        let catNodes = (tree["categories_nodes"]?.arrayValue ?? []).compactMap(\.intValue)
        let segments = (tree["categories_segments"]?.arrayValue ?? []).compactMap(\.intValue)
        let sizes = (tree["categories_sizes"]?.arrayValue ?? []).compactMap(\.intValue)
        let values = (tree["categories"]?.arrayValue ?? []).compactMap(\.intValue)
        for (position, node) in catNodes.enumerated() where Int(node) < nodes && position < segments.count && position < sizes.count {
            let members = values[Int(segments[position])..<min(values.count, Int(segments[position] + sizes[position]))]
            let words = Int((members.max() ?? 0) / 32) + 1
            var bits = [UInt32](repeating: 0, count: words)
            for category in members where category >= 0 { bits[Int(category / 32)] |= 1 << UInt32(category % 32) }
            sets[Int(node)] = bits
        }
        categories = sets
        let hessian = (tree["sum_hessian"]?.arrayValue ?? []).map { value -> Float in
            if case .number(let text) = value { return Float(text) ?? .nan } else { return .nan }
        }
        nodeMean = hessian.count == nodes ? Self.means(left: left, right: right, leaf: split, hessian: hessian) : []
    }

    /// XGBoost's FillNodeMeanValue, in the same single-precision order of operations.
    private static func means(left: [Int32], right: [Int32], leaf: [Float], hessian: [Float]) -> [Float] {
        var means = [Float](repeating: 0, count: left.count)
        func fill(_ node: Int) -> Float {
            var result: Float
            if left[node] == -1 {
                result = leaf[node]
            } else {
                let l = Int(left[node]), r = Int(right[node])
                result = fill(l) * hessian[l]
                result += fill(r) * hessian[r]
                result /= hessian[node]
            }
            means[node] = result
            return result
        }
        _ = fill(0)
        return means
    }

    /// XGBoost's CalculateContributionsApprox for one tree: adds into `contributions`
    /// (features, then bias).
    func addPathContributions(_ features: [Float], into contributions: inout [Float]) {
        guard !nodeMean.isEmpty else { return }
        let bias = contributions.count - 1
        var node = 0
        var value = nodeMean[0]
        contributions[bias] += value
        while left[node] != -1 {
            let index = Int(feature[node])
            node = next(features, node)
            let newValue = nodeMean[node]
            contributions[index] += newValue - value
            value = newValue
        }
    }

    /// The child a row goes to from an internal node.
    func next(_ features: [Float], _ node: Int) -> Int {
        let index = Int(feature[node])
        let value = index < features.count ? features[index] : .nan
        if value.isNaN { return Int(defaultLeft[node] ? left[node] : right[node]) }
        if categorical[node] { return Int(inSet(value, categories[node]) ? right[node] : left[node]) }
        return Int(value < split[node] ? left[node] : right[node])
    }

    func predict(_ features: [Float]) -> Float {
        var node = 0
        while left[node] != -1 {
            let index = Int(feature[node])
            let value = index < features.count ? features[index] : .nan
            if value.isNaN {
                node = Int(defaultLeft[node] ? left[node] : right[node])
            } else if categorical[node] {
                node = Int(inSet(value, categories[node]) ? right[node] : left[node])
            } else {
                node = Int(value < split[node] ? left[node] : right[node])
            }
        }
        return split[node]  // a leaf keeps its value in split_conditions
    }

    /// XGBoost's Decision(): a valid category whose bit is set goes right; anything else left.
    private func inSet(_ value: Float, _ bits: [UInt32]) -> Bool {
        guard value >= 0, value < 16_777_216 else { return false }
        let category = Int(value)
        guard category / 32 < bits.count else { return false }
        return (bits[category / 32] >> UInt32(category % 32)) & 1 == 1
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        String(drop(while: { set.contains($0) }).reversed().drop(while: { set.contains($0) }).reversed())
    }
}
