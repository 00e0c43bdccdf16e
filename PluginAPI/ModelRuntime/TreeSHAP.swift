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
        shap(features, &phi, node: 0, parentPath: [], zeroFraction: 1, oneFraction: 1, feature: -1)
    }

    private func cover(_ node: Int) -> Double { node >= 0 ? internalCount[node] : leafCount[~node] }

    private func shap(_ x: [Double], _ phi: inout [Double], node: Int, parentPath: [PathElement],
                      zeroFraction: Double, oneFraction: Double, feature: Int) {
        var path = parentPath
        Self.extend(&path, zeroFraction, oneFraction, feature)
        var depth = path.count - 1
        if node < 0 {
            guard depth >= 1 else { return }
            for i in 1...depth {
                let weight = Self.unwoundSum(path, depth, i)
                phi[path[i].feature] += weight * (path[i].oneFraction - path[i].zeroFraction) * leafValue[~node]
            }
            return
        }
        let hot = next(x, node)
        let cold = hot == leftChild[node] ? rightChild[node] : leftChild[node]
        let total = cover(node)
        var incomingZero = 1.0
        var incomingOne = 1.0
        // A feature split on again above: undo that split so this node redoes it.
        if let index = path.firstIndex(where: { $0.feature == splitFeature[node] }) {
            incomingZero = path[index].zeroFraction
            incomingOne = path[index].oneFraction
            Self.unwind(&path, depth, index)
            path.removeLast()
            depth -= 1
        }
        shap(x, &phi, node: hot, parentPath: path, zeroFraction: cover(hot) / total * incomingZero,
             oneFraction: incomingOne, feature: splitFeature[node])
        shap(x, &phi, node: cold, parentPath: path, zeroFraction: cover(cold) / total * incomingZero,
             oneFraction: 0, feature: splitFeature[node])
    }

    private static func extend(_ path: inout [PathElement], _ zero: Double, _ one: Double, _ feature: Int) {
        let depth = path.count
        path.append(PathElement(feature: feature, zeroFraction: zero, oneFraction: one, weight: depth == 0 ? 1 : 0))
        var i = depth - 1
        while i >= 0 {
            path[i + 1].weight += one * path[i].weight * Double(i + 1) / Double(depth + 1)
            path[i].weight = zero * path[i].weight * Double(depth - i) / Double(depth + 1)
            i -= 1
        }
    }

    private static func unwind(_ path: inout [PathElement], _ depth: Int, _ index: Int) {
        let one = path[index].oneFraction
        let zero = path[index].zeroFraction
        var nextOne = path[depth].weight
        var i = depth - 1
        while i >= 0 {
            if one != 0 {
                let previous = path[i].weight
                path[i].weight = nextOne * Double(depth + 1) / (Double(i + 1) * one)
                nextOne = previous - path[i].weight * zero * Double(depth - i) / Double(depth + 1)
            } else {
                path[i].weight = path[i].weight * Double(depth + 1) / (zero * Double(depth - i))
            }
            i -= 1
        }
        for j in index..<depth {
            path[j].feature = path[j + 1].feature
            path[j].zeroFraction = path[j + 1].zeroFraction
            path[j].oneFraction = path[j + 1].oneFraction
        }
    }

    private static func unwoundSum(_ path: [PathElement], _ depth: Int, _ index: Int) -> Double {
        let one = path[index].oneFraction
        let zero = path[index].zeroFraction
        var nextOne = path[depth].weight
        var total = 0.0
        var i = depth - 1
        while i >= 0 {
            if one != 0 {
                let share = nextOne * Double(depth + 1) / (Double(i + 1) * one)
                total += share
                nextOne = path[i].weight - share * zero * (Double(depth - i) / Double(depth + 1))
            } else if zero != 0 {
                total += (path[i].weight / zero) / (Double(depth - i) / Double(depth + 1))
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
