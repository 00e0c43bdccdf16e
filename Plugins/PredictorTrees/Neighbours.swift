import HubJSON
import HubModelRuntime
import HubPluginKit

/// Past orders with their outcomes (neighbours.csv in the model directory), to show a person
/// "orders like this one, and what happened to them" next to a risky score.
struct Neighbours: Sendable {
    struct Past: Sendable {
        let orderID: String
        let late: Bool
        let delayDays: Double?
        let features: [Double]
    }

    let past: [Past]
    let categorical: [Bool]
    let mean: [Double]
    let scale: [Double]

    /// nil when the model directory has no neighbours.csv.
    init?(path: String, spec: FeatureSpec) throws(PluginError) {
        guard let bytes = try? PluginFiles.read(path) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
            header.count == spec.names.count + 3, Array(header.dropFirst(3)) == spec.names
        else { throw .invalid("\(path): header must be order_id,late,delay_days followed by the model's features \(spec.names)") }
        var past: [Past] = []
        for (number, line) in lines.dropFirst().enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count else { throw .invalid("\(path):\(number + 2): expected \(header.count) values") }
            past.append(Past(orderID: String(cells[0]), late: cells[1] == "1", delayDays: Double(cells[2]),
                             features: cells.dropFirst(3).map { Double($0) ?? .nan }))
        }
        self.past = past
        categorical = spec.features.map(\.isCategorical)
        let width = spec.names.count
        var mean = [Double](repeating: 0, count: width)
        var scale = [Double](repeating: 1, count: width)
        for j in 0..<width where !categorical[j] {
            let values = past.map { $0.features[j] }.filter { !$0.isNaN }
            guard !values.isEmpty else { continue }
            let m = values.reduce(0, +) / Double(values.count)
            let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count)
            mean[j] = m
            scale[j] = variance > 0 ? variance.squareRoot() : 1
        }
        self.mean = mean
        self.scale = scale
    }

    /// The k past orders nearest to `row` (standardised numeric distance plus 1 per differing category).
    func nearest(_ row: [Double], k: Int) -> [(past: Past, distance: Double)] {
        var best: [(past: Past, distance: Double)] = []
        for candidate in past {
            var distance = 0.0
            for j in 0..<row.count {
                if categorical[j] {
                    distance += row[j].isNaN || candidate.features[j].isNaN || row[j] != candidate.features[j] ? 1 : 0
                } else {
                    let a = row[j].isNaN ? mean[j] : row[j]
                    let b = candidate.features[j].isNaN ? mean[j] : candidate.features[j]
                    let d = (a - b) / scale[j]
                    distance += d * d
                }
            }
            if best.count < k || distance < best[best.count - 1].distance {
                best.append((candidate, distance))
                best.sort { $0.distance < $1.distance }
                if best.count > k { best.removeLast() }
            }
        }
        return best
    }
}
