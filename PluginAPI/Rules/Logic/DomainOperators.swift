import HubJSON

/// OrderHub's order-domain operators (documented in docs/rules.md): sums and counts over
/// the order's lines, lookup tables, local time windows, and the predictor's scores.
extension LogicCompiler {
    func domainOperation(_ op: String, _ args: [SourceNode], at node: SourceNode) throws(RuleError) -> Compiled? {
        switch op {
        case "items_total", "items_quantity", "count_items":
            // Σ quantity × unit_price, Σ quantity, or the number of lines, over lines passing a filter.
            try requireArgs(op, args, 0...1, at: node)
            let filter = args.isEmpty ? nil : try compileScoped(args[0], items: true).truth
            _ = rootSlot("items")
            let label = op
            let kind = op == "items_total" ? 0 : (op == "items_quantity" ? 1 : 2)
            let sum: NumberExpr = { frame in
                let lines = frame.lineTotals
                guard let filter else {
                    // No filter: the order's totals, computed once per evaluation.
                    return kind == 0 ? frame.allLines.total : (kind == 1 ? frame.allLines.quantity : Num(Int64(lines.count)))
                }
                var total = Num(0)
                let items = frame.items
                for index in items.indices {
                    let saved = frame.enter(items[index])
                    let keep = filter(frame)
                    frame.leave(saved)
                    if !keep { continue }
                    switch kind {
                    case 0: total = total + lines[index].total
                    case 1: total = total + lines[index].quantity
                    default: total = total + Num(1)
                    }
                }
                return total
            }
            let noted: NumberExpr = { frame in
                let total = sum(frame)
                if frame.noting { frame.note(label, .number(total)) }
                return total
            }
            return Compiled({ frame in .number(noted(frame)) }, test: { frame in noted(frame).isTruthy }, number: noted, isNumber: true)
        case "sum_items":
            try requireArgs(op, args, 1...2, at: node)
            let value = try compileScoped(args[0], items: true).numeric
            let filter = args.count > 1 ? try compileScoped(args[1], items: true).truth : nil
            _ = rootSlot("items")
            let sum: NumberExpr = { frame in
                var total = Num(0)
                for item in frame.items {
                    let saved = frame.enter(item)
                    if filter == nil || filter!(frame) { total = total + value(frame) }
                    frame.leave(saved)
                }
                return total
            }
            let noted: NumberExpr = { frame in
                let total = sum(frame)
                if frame.noting { frame.note("sum_items", .number(total)) }
                return total
            }
            return Compiled({ frame in .number(noted(frame)) }, test: { frame in noted(frame).isTruthy }, number: noted, isNumber: true)
        case "in_table":
            try requireArgs(op, args, 2...2, at: node)
            let table = try tableNamed(args[1], op)
            let key = try compile(args[0]).expr
            return .boolean { frame in
                if case .string(let text) = key(frame) { return table.contains(text) }
                return table.contains(key(frame).toText)
            }
        case "lookup":
            // {"lookup": ["carbon_factors", sku, "kg_per_unit", 0]}
            try requireArgs(op, args, 3...4, at: node)
            let table = try tableNamed(args[0], op)
            guard let column = args[2].string, table.columns.contains(column) else {
                throw error(args[2], "'lookup': column must be one of \(table.columns.dropFirst().joined(separator: ", ")) (table '\(table.name)')")
            }
            let key = try compile(args[1]).expr
            let fallback = try compile(args.count > 3 ? args[3] : SourceNode(.null)).expr
            return Compiled { frame in
                guard let text = table.value(key(frame).toText, column: column) else { return fallback(frame) }
                return Num.parse(text).map(RuleValue.number) ?? .string(text)
            }
        case "local_time", "local_date", "weekday":
            try requireArgs(op, args, 0...1, at: node)
            let moment = try momentExpr(args.first)
            let label = op
            return Compiled { frame in
                guard let seconds = moment(frame) else { return .null }
                let local = frame.localSeconds(seconds)
                let (day, secondOfDay) = local.quotientAndRemainder(dividingBy: 86_400)
                let days = secondOfDay < 0 ? day - 1 : day
                let second = secondOfDay < 0 ? secondOfDay + 86_400 : secondOfDay
                switch label {
                case "local_time": return .string(twoDigits(second / 3600) + ":" + twoDigits(second % 3600 / 60))
                case "local_date": return .string(civilDate(days))
                default: return .int(((days % 7) + 7 + 3) % 7 + 1)  // 1970-01-01 was a Thursday; Monday = 1
                }
            }
        case "in_window":
            // {"in_window": ["2026-12-24T20:00", "2026-12-25T00:00"]}: from ≤ local time < to.
            try requireArgs(op, args, 2...3, at: node)
            guard let from = args[0].string.flatMap(parseLocalDateTime) else {
                throw error(args[0], "'in_window': from must be a local date-time such as \"2026-12-24T20:00\"")
            }
            guard let to = args[1].string.flatMap(parseLocalDateTime), to > from else {
                throw error(args[1], "'in_window': to must be a local date-time after from, such as \"2026-12-25T00:00\"")
            }
            let moment = try momentExpr(args.count > 2 ? args[2] : nil)
            return .boolean { frame in
                guard let seconds = moment(frame) else { return false }
                let local = frame.localSeconds(seconds)
                return local >= from && local < to
            }
        case "daily_window":
            // {"daily_window": ["20:00", "24:00"]}: every day; wraps midnight when from > to.
            try requireArgs(op, args, 2...3, at: node)
            guard let from = args[0].string.flatMap(parseClock) else { throw error(args[0], "'daily_window': from must be \"HH:MM\"") }
            guard let to = args[1].string.flatMap(parseClock) else { throw error(args[1], "'daily_window': to must be \"HH:MM\" (24:00 allowed)") }
            let moment = try momentExpr(args.count > 2 ? args[2] : nil)
            return .boolean { frame in
                guard let seconds = moment(frame) else { return false }
                var second = frame.localSeconds(seconds) % 86_400
                if second < 0 { second += 86_400 }
                return from <= to ? (second >= from && second < to) : (second >= from || second < to)
            }
        case "now":
            return Compiled { frame in .string(Timestamp.rfc3339(unixNanos: frame.nowNanos)) }
        case "risk":
            // {"risk": ["late_delivery"]} → its probability; {"risk": ["late_delivery", "quadrant"]}.
            try requireArgs(op, args, 1...2, at: node)
            guard let model = args[0].string else { throw error(args[0], "'risk': the first argument is a model id or predictor slot") }
            let field = args.count > 1 ? (args[1].string ?? "score") : "score"
            let slot = rootSlot("predictions")
            return Compiled { frame in
                guard case .object(let predictions) = frame.slot(slot, ["predictions"]) else { return .null }
                for (name, prediction) in predictions where name == model || prediction["model"]?.stringValue == model {
                    let value = prediction[field] ?? .null
                    frame.note("risk.\(model).\(field)", value)
                    return value
                }
                return .null
            }
        default: return nil
        }
    }

    private func tableNamed(_ node: SourceNode, _ op: String) throws(RuleError) -> LookupTable {
        // "presale_skus", or a bare presale_skus from the text form ({"var": "presale_skus"}).
        guard let name = node.string ?? node["var"]?.string else { throw error(node, "'\(op)': the table name must be written as text") }
        guard let table = tables[name] else {
            let known = tables.keys.sorted()
            throw error(node, "'\(op)': no table '\(name)' in this ruleset (\(known.isEmpty ? "it has no tables" : "tables: " + known.joined(separator: ", ")))")
        }
        return table
    }

    /// The moment an expression names (RFC 3339 text) or, by default, when the order was
    /// placed (`created_at`), falling back to the evaluation time.
    private func momentExpr(_ node: SourceNode?) throws(RuleError) -> @Sendable (EvalFrame) -> Int64? {
        if let node {
            let expr = try compile(node).expr
            return { frame in
                guard case .string(let text) = expr(frame), let nanos = Timestamp.parseRFC3339(text) else { return nil }
                return nanos / 1_000_000_000
            }
        }
        let slot = rootSlot("created_at")
        return { frame in
            if let cached = frame.placedAtSeconds { return cached }
            var seconds = frame.nowNanos / 1_000_000_000
            if case .string(let text) = frame.slot(slot, ["created_at"]), let nanos = Timestamp.parseRFC3339(text) {
                seconds = nanos / 1_000_000_000
            }
            frame.placedAtSeconds = seconds
            return seconds
        }
    }
}

extension EvalFrame {
    /// Wall-clock seconds since 1970 in the merchant's zone for a UTC moment.
    func localSeconds(_ utc: Int64) -> Int64 {
        if let cached = localOffsetCache, cached.utcSecond == utc { return utc + cached.offset }
        let offset = environment.utcOffset(atUnixSeconds: utc)
        localOffsetCache = (utc, offset)
        return utc + offset
    }
}

private func twoDigits(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

/// "2026-12-24" for days since 1970-01-01.
func civilDate(_ days: Int64) -> String {
    let (year, month, day) = Timestamp.civil(fromDays: days)
    return "\(year)-\(twoDigits(month))-\(twoDigits(day))"
}

/// "HH:MM" → seconds after midnight; "24:00" is the end of the day.
func parseClock(_ text: String) -> Int64? {
    let parts = text.split(separator: ":")
    guard parts.count == 2 || parts.count == 3, let h = Int64(parts[0]), let m = Int64(parts[1]),
          (0...24).contains(h), (0...59).contains(m), h < 24 || m == 0 else { return nil }
    let s = parts.count == 3 ? Int64(parts[2]) ?? -1 : 0
    guard (0...59).contains(s) else { return nil }
    return h * 3600 + m * 60 + s
}

/// "2026-12-24T20:00[:SS]" or "2026-12-24" (midnight) → local wall seconds since 1970.
func parseLocalDateTime(_ text: String) -> Int64? {
    let halves = text.split(separator: "T", maxSplits: 1)
    guard let first = halves.first else { return nil }
    let date = first.split(separator: "-")
    guard date.count == 3, let y = Int64(date[0]), let mo = Int64(date[1]), let d = Int64(date[2]),
          (1...9999).contains(y), (1...12).contains(mo), (1...31).contains(d) else { return nil }
    let clock = halves.count == 2 ? parseClock(String(halves[1])) : 0
    guard let clock else { return nil }
    return Timestamp.daysFromCivil(year: y, month: mo, day: d) * 86_400 + clock
}
