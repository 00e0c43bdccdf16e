import Dispatch

/// What `orderhub rules bench` measures besides whole evaluations.
extension Ruleset {
    /// How many rules' conditions hold for the order, evaluating conditions only: no actions,
    /// limits or velocity windows. What condition-only engines are compared with.
    public func matchingConditions(_ document: RuleDocument, nowNanos: Int64) -> Int {
        let frame = EvalFrame(document: document, environment: environment, slotCount: slotCount, nowNanos: nowNanos)
        var count = 0
        for rule in rules {
            if let test = rule.conditionTest, !test(frame) { continue }
            if let table = rule.table, !table.anyRow(table.values(frame)) { continue }
            count += 1
        }
        return count
    }
}

extension Ruleset {
    /// Nanoseconds spent in each rule's condition over `documents` (for `orderhub rules bench
    /// --per-rule`): where a ruleset's time goes.
    public func conditionCost(_ documents: [RuleDocument], nowNanos: [Int64]) -> [(rule: String, nanos: UInt64)] {
        var totals = [UInt64](repeating: 0, count: rules.count)
        for (index, document) in documents.enumerated() {
            let frame = EvalFrame(document: document, environment: environment, slotCount: slotCount, nowNanos: nowNanos[index])
            for (position, rule) in rules.enumerated() {
                let started = DispatchTime.now().uptimeNanoseconds
                if let test = rule.conditionTest { _ = test(frame) }
                if let table = rule.table { _ = table.anyRow(table.values(frame)) }
                totals[position] += DispatchTime.now().uptimeNanoseconds - started
            }
        }
        return zip(rules, totals).map { ($0.id, $1) }
    }
}
