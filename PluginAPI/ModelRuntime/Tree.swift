/// One regression tree of a LightGBM model.
final class Tree: Sendable {
    let splitFeature: [Int]
    let threshold: [Double]
    let decisionType: [UInt8]
    let leftChild: [Int]
    let rightChild: [Int]
    let leafValue: [Double]
    let catBoundaries: [Int]
    let catThreshold: [UInt32]
    /// Training rows that reached each leaf / internal node: the "cover" TreeSHAP weighs by.
    let leafCount: [Double]
    let internalCount: [Double]
    /// Longest root-to-leaf path, in splits (sizes TreeSHAP's path buffer).
    let maxDepth: Int
    /// Cover-weighted mean output of each internal node (path contributions).
    let nodeMean: [Double]

    private static let categoricalMask: UInt8 = 1
    private static let defaultLeftMask: UInt8 = 2
    private static let zeroThreshold = 1e-35

    init(fields: [String: String], line: Int, featureCount: Int) throws(ModelError) {
        func list<T>(_ key: String, _ parse: (Substring) -> T?) throws(ModelError) -> [T] {
            guard let text = fields[key] else { return [] }
            var values: [T] = []
            for part in text.split(separator: " ") {
                guard let value = parse(part) else { throw ModelError(line: line, "\(key): '\(part)' is not a number") }
                values.append(value)
            }
            return values
        }
        if fields["is_linear"] == "1" { throw ModelError(line: line, "linear trees (linear_tree=true) are not supported") }
        guard let leaves = fields["num_leaves"].flatMap({ Int($0) }), leaves >= 1 else {
            throw ModelError(line: line, "num_leaves is missing or not a positive integer")
        }
        leafValue = try list("leaf_value") { Double($0) }
        splitFeature = try list("split_feature") { Int($0) }
        threshold = try list("threshold") { Double($0) }
        decisionType = try list("decision_type") { UInt8($0) }
        leftChild = try list("left_child") { Int($0) }
        rightChild = try list("right_child") { Int($0) }
        catBoundaries = try list("cat_boundaries") { Int($0) }
        catThreshold = try list("cat_threshold") { UInt32($0) }
        leafCount = try list("leaf_count") { Double($0) }
        internalCount = try list("internal_count") { Double($0) }
        let internalNodes = leaves - 1
        guard leafValue.count == leaves,
            [splitFeature.count, threshold.count, decisionType.count, leftChild.count, rightChild.count].allSatisfy({ $0 == internalNodes })
        else { throw ModelError(line: line, "a tree with \(leaves) leaves needs \(internalNodes) splits and \(leaves) leaf values") }
        guard splitFeature.allSatisfy({ (0..<featureCount).contains($0) }) else {
            throw ModelError(line: line, "split_feature names a feature outside 0..<\(featureCount)")
        }
        let children = leftChild + rightChild
        guard children.allSatisfy({ $0 < internalNodes && ~$0 < leaves }) else {
            throw ModelError(line: line, "a child index points outside the tree")
        }
        var deepest = 0
        var stack = internalNodes > 0 ? [(0, 1)] : []
        while let (node, depth) = stack.popLast() {
            deepest = max(deepest, depth)
            guard depth <= internalNodes else { throw ModelError(line: line, "the tree has a cycle") }
            for child in [leftChild[node], rightChild[node]] where child >= 0 { stack.append((child, depth + 1)) }
        }
        maxDepth = deepest
        nodeMean = Self.nodeMeans(leafValue: leafValue, leafCount: leafCount, internalCount: internalCount,
                                  left: leftChild, right: rightChild)
    }

    func predict(_ features: [Double]) -> Double {
        guard leafValue.count > 1 else { return leafValue[0] }
        var node = 0
        while node >= 0 { node = next(features, node) }
        return leafValue[~node]
    }

    /// The child the row goes to at an internal node.
    func next(_ features: [Double], _ node: Int) -> Int {
        let feature = splitFeature[node]
        let value = feature < features.count ? features[feature] : .nan
        return decisionType[node] & Self.categoricalMask != 0 ? categorical(value, node) : numerical(value, node)
    }

    /// LightGBM's NumericalDecision.
    private func numerical(_ input: Double, _ node: Int) -> Int {
        let missingType = (decisionType[node] >> 2) & 3  // 0 none, 1 zero, 2 NaN
        var value = input
        if value.isNaN && missingType != 2 { value = 0 }
        if (missingType == 1 && abs(value) <= Self.zeroThreshold) || (missingType == 2 && value.isNaN) {
            return decisionType[node] & Self.defaultLeftMask != 0 ? leftChild[node] : rightChild[node]
        }
        return value <= threshold[node] ? leftChild[node] : rightChild[node]
    }

    /// LightGBM's CategoricalDecision: the category's bit in the split's bitset.
    private func categorical(_ value: Double, _ node: Int) -> Int {
        guard !value.isNaN, value > -1, value < Double(Int32.max) else { return rightChild[node] }
        let category = Int(value)
        let set = Int(threshold[node])
        guard set + 1 < catBoundaries.count else { return rightChild[node] }
        let start = catBoundaries[set]
        let words = catBoundaries[set + 1] - start
        let word = category / 32
        guard word < words else { return rightChild[node] }
        return (catThreshold[start + word] >> UInt32(category % 32)) & 1 == 1 ? leftChild[node] : rightChild[node]
    }
}
