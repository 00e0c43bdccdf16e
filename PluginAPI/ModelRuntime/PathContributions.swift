/// Path attribution (Saabas): the cheap explanation, for every order.
///
/// Walking the row's path through each tree, the change in the node's mean output at each
/// split is credited to that split's feature. The contributions add up to the raw score
/// exactly, like TreeSHAP's, and cost about as much as scoring (one path per tree), where
/// TreeSHAP costs ~25x more. They are not Shapley values: a feature split on near the root is
/// credited more than its fair share. XGBoost ships the same method as
/// `predict(pred_contribs=True, approx_contribs=True)`. The predictor uses TreeSHAP for the
/// orders a person must look at and this for the rest.
extension Tree {
    /// Mean output of each internal node over its training rows (cover-weighted), computed
    /// once at load; empty when the model file has no counts.
    static func nodeMeans(leafValue: [Double], leafCount: [Double], internalCount: [Double],
                          left: [Int], right: [Int]) -> [Double] {
        let internalNodes = leafValue.count - 1
        guard internalNodes > 0, leafCount.count == leafValue.count, internalCount.count == internalNodes else { return [] }
        var means = [Double](repeating: .nan, count: internalNodes)
        func mean(_ node: Int) -> (value: Double, cover: Double) {
            if node < 0 { return (leafValue[~node], leafCount[~node]) }
            let a = mean(left[node]), b = mean(right[node])
            let cover = a.cover + b.cover
            let value = cover > 0 ? (a.value * a.cover + b.value * b.cover) / cover : (a.value + b.value) / 2
            means[node] = value
            return (value, cover)
        }
        _ = mean(0)
        return means
    }

    /// Adds this tree's path contributions to `phi`; returns the tree's base (root mean).
    func addPathContributions(_ features: [Double], into phi: inout [Double]) -> Double {
        guard leafValue.count > 1, !nodeMean.isEmpty else { return leafValue[0] }
        var node = 0
        var value = nodeMean[0]
        while node >= 0 {
            let child = next(features, node)
            let childValue = child >= 0 ? nodeMean[child] : leafValue[~child]
            phi[splitFeature[node]] += childValue - value
            value = childValue
            node = child
        }
        return nodeMean[0]
    }
}

extension LightGBMModel {
    /// Path-attribution contributions in `pred_contrib` layout (features, then the base
    /// value); they add up to `rawScore(features)`. nil without leaf/internal counts.
    public func pathContributions(_ features: [Double]) -> [Double]? {
        guard trees.allSatisfy({ $0.hasCover }) else { return nil }
        var phi = [Double](repeating: 0, count: featureNames.count + 1)
        for tree in trees { phi[featureNames.count] += tree.addPathContributions(features, into: &phi) }
        return phi
    }
}
