/// Exact per-feature contributions for tree ensembles (TreeSHAP, Lundberg et al. 2018),
/// written after LightGBM's Tree::TreeSHAP so the numbers equal `predict(pred_contrib=True)`.
extension Tree {
    struct PathElement {
        var feature: Int
        var zeroFraction: Double
        var oneFraction: Double
        var weight: Double
    }

    var hasCover: Bool { leafCount.count == leafValue.count && internalCount.count == leafValue.count - 1 }

    /// The tree's mean output over its training rows (the SHAP base value).
    var expectedValue: Double {
        guard leafValue.count > 1 else { return leafValue[0] }
        return zip(leafCount, leafValue).reduce(0) { $0 + $1.0 / internalCount[0] * $1.1 }
    }

    /// Adds this tree's contributions to `phi` (one entry per feature).
    func addContributions(_ features: [Double], into phi: inout [Double]) {
        guard leafValue.count > 1 else { return }
        // One flat buffer for every level's path, as LightGBM does: no allocation per node.
        let longest = maxDepth + 2
        var buffer = [PathElement](repeating: PathElement(feature: -1, zeroFraction: 0, oneFraction: 0, weight: 0),
                                   count: longest * (longest + 1) / 2 + longest)
        shap(features, &phi, &buffer, node: 0, depth: 0, parent: 0, zeroFraction: 1, oneFraction: 1, feature: -1)
    }

    private func cover(_ node: Int) -> Double { node >= 0 ? internalCount[node] : leafCount[~node] }

    /// The path of this call lives at buffer[start ... start + depth]; the parent's at
    /// buffer[parent ..< parent + depth] (LightGBM's unique_path = parent_unique_path + depth).
    private func shap(_ x: [Double], _ phi: inout [Double], _ buffer: inout [PathElement], node: Int, depth inputDepth: Int,
                      parent: Int, zeroFraction: Double, oneFraction: Double, feature: Int) {
        var depth = inputDepth
        let start = parent + depth
        if depth > 0 { for i in 0..<depth { buffer[start + i] = buffer[parent + i] } }
        Self.extend(&buffer, start, depth, zeroFraction, oneFraction, feature)
        if node < 0 {
            guard depth >= 1 else { return }
            for i in 1...depth {
                let weight = Self.unwoundSum(buffer, start, depth, i)
                let element = buffer[start + i]
                phi[element.feature] += weight * (element.oneFraction - element.zeroFraction) * leafValue[~node]
            }
            return
        }
        let hot = next(x, node)
        let cold = hot == leftChild[node] ? rightChild[node] : leftChild[node]
        let total = cover(node)
        var incomingZero = 1.0
        var incomingOne = 1.0
        // A feature split on again above: undo that split so this node redoes it.
        var index = 0
        while index <= depth, buffer[start + index].feature != splitFeature[node] { index += 1 }
        if index <= depth {
            incomingZero = buffer[start + index].zeroFraction
            incomingOne = buffer[start + index].oneFraction
            Self.unwind(&buffer, start, depth, index)
            depth -= 1
        }
        shap(x, &phi, &buffer, node: hot, depth: depth + 1, parent: start, zeroFraction: cover(hot) / total * incomingZero,
             oneFraction: incomingOne, feature: splitFeature[node])
        shap(x, &phi, &buffer, node: cold, depth: depth + 1, parent: start, zeroFraction: cover(cold) / total * incomingZero,
             oneFraction: 0, feature: splitFeature[node])
    }

    private static func extend(_ path: inout [PathElement], _ start: Int, _ depth: Int, _ zero: Double, _ one: Double, _ feature: Int) {
        path[start + depth] = PathElement(feature: feature, zeroFraction: zero, oneFraction: one, weight: depth == 0 ? 1 : 0)
        var i = depth - 1
        while i >= 0 {
            path[start + i + 1].weight += one * path[start + i].weight * Double(i + 1) / Double(depth + 1)
            path[start + i].weight = zero * path[start + i].weight * Double(depth - i) / Double(depth + 1)
            i -= 1
        }
    }

    private static func unwind(_ path: inout [PathElement], _ start: Int, _ depth: Int, _ index: Int) {
        let one = path[start + index].oneFraction
        let zero = path[start + index].zeroFraction
        var nextOne = path[start + depth].weight
        var i = depth - 1
        while i >= 0 {
            if one != 0 {
                let previous = path[start + i].weight
                path[start + i].weight = nextOne * Double(depth + 1) / (Double(i + 1) * one)
                nextOne = previous - path[start + i].weight * zero * Double(depth - i) / Double(depth + 1)
            } else {
                path[start + i].weight = path[start + i].weight * Double(depth + 1) / (zero * Double(depth - i))
            }
            i -= 1
        }
        for j in index..<depth {
            path[start + j].feature = path[start + j + 1].feature
            path[start + j].zeroFraction = path[start + j + 1].zeroFraction
            path[start + j].oneFraction = path[start + j + 1].oneFraction
        }
    }

    private static func unwoundSum(_ path: [PathElement], _ start: Int, _ depth: Int, _ index: Int) -> Double {
        let one = path[start + index].oneFraction
        let zero = path[start + index].zeroFraction
        var nextOne = path[start + depth].weight
        var total = 0.0
        var i = depth - 1
        while i >= 0 {
            if one != 0 {
                let share = nextOne * Double(depth + 1) / (Double(i + 1) * one)
                total += share
                nextOne = path[start + i].weight - share * zero * (Double(depth - i) / Double(depth + 1))
            } else if zero != 0 {
                total += (path[start + i].weight / zero) / (Double(depth - i) / Double(depth + 1))
            }
            i -= 1
        }
        return total
    }
}

extension LightGBMModel {
    /// Per-feature contributions to the raw score, then the expected value as the last entry
    /// (LightGBM's `pred_contrib` layout); they add up to `rawScore(features)`.
    /// nil when the model file has no leaf/internal counts to weigh by.
    public func contributions(_ features: [Double]) -> [Double]? {
        guard trees.allSatisfy(\.hasCover) else { return nil }
        var phi = [Double](repeating: 0, count: featureNames.count + 1)
        for tree in trees {
            phi[featureNames.count] += tree.expectedValue
            tree.addContributions(features, into: &phi)
        }
        return phi
    }
}
