import HubJSON

/// The standard JSON Logic operators, with the semantics of the reference implementation
/// (json-logic-js) and its published test suite.
extension LogicCompiler {
    func standardOperation(_ op: String, _ args: [SourceNode], at node: SourceNode) throws(RuleError) -> Compiled? {
        switch op {
        case "var": return try variable(args, at: node)
        case "missing": return try missing(args)
        case "missing_some":
            try requireArgs(op, args, 2...2, at: node)
            let need = try compile(args[0]).expr, keys = try compile(args[1]).expr
            let missingOf = try missingFunction()
            return Compiled { frame in
                let list = keys(frame).arrayValue ?? []
                let absent = missingOf(frame, list)
                let required = need(frame).toNumber.integer ?? 0
                return list.count - absent.count >= required ? .array([]) : .array(absent)
            }
        case "if", "?:": return try conditional(args)
        case "==", "===", "!=", "!==":
            let loose = op.count == 2, negate = op.hasPrefix("!")
            let parts = try compileAll(args)
            // Text against text is plain string equality under both == and ===.
            let equal: @Sendable (RuleValue, RuleValue) -> Bool = { a, b in
                if case .string(let x) = a, case .string(let y) = b { return x == y }
                return loose ? RuleValue.looseEquals(a, b) : RuleValue.strictEquals(a, b)
            }
            return negate ? pureTest2(parts) { !equal($0, $1) } : pureTest2(parts, equal)
        case "!", "!!":
            let operand = try compile(args.first ?? SourceNode(.null))
            let negate = op == "!"
            if let constant = operand.constant { return Compiled(constant: .bool(constant.truthy != negate)) }
            let truth = operand.truth
            return negate ? .boolean { frame in !truth(frame) } : .boolean { frame in truth(frame) }
        case "or", "and": return try logical(op == "and", args)
        case "<", "<=", ">", ">=": return try comparison(op, args, at: node)
        case "max", "min":
            let isMax = op == "max"
            return pure(try compileAll(args)) { values in
                guard var best = values.first?.toNumber else { return .null }
                for value in values {
                    let n = value.toNumber
                    guard let order = Num.compare(n, best) else { return .number(.real(.nan)) }
                    if isMax ? order > 0 : order < 0 { best = n }
                }
                return .number(best)
            }
        case "+" where args.count == 2, "*" where args.count == 2:
            let parts = try compileAll(args)
            let add = op == "+"
            // Numbers on both sides: parseFloat is the number itself, so the typed path is exact.
            if parts[0].isNumber && parts[1].isNumber && (parts[0].constant == nil || parts[1].constant == nil) {
                let (a, b) = (parts[0].numeric, parts[1].numeric)
                return add ? .numeric { frame in a(frame) + b(frame) } : .numeric { frame in a(frame) * b(frame) }
            }
            return add ? pure2(parts) { .number($0.parseFloat + $1.parseFloat) } : pure2(parts) { .number($0.parseFloat * $1.parseFloat) }
        case "+":
            return pure(try compileAll(args)) { values in
                .number(values.reduce(Num(0)) { $0 + $1.parseFloat })
            }
        case "*":
            return pure(try compileAll(args)) { values in
                guard let first = values.first else { return .null }
                return .number(values.dropFirst().reduce(first.parseFloat) { $0 * $1.parseFloat })
            }
        case "-":
            try requireArgs(op, args, 1...2, at: node)
            if args.count == 1 { return pure(try compileAll(args)) { .number($0[0].toNumber.negated) } }
            return arithmetic(try compileAll(args)) { $0 - $1 }
        case "/":
            try requireArgs(op, args, 2...2, at: node)
            return arithmetic(try compileAll(args)) { $0 / $1 }
        case "%":
            try requireArgs(op, args, 2...2, at: node)
            return arithmetic(try compileAll(args)) { $0 % $1 }
        case "in" where args.count == 2 && args[1].elements?.allSatisfy({ $0.string != nil }) == true:
            // A field in a list of words: one set lookup.
            let parts = try compileAll(args)
            let words = Set(args[1].elements!.compactMap(\.string))
            if let field = parts[0].field {
                return .boolean { frame in
                    if case .string(let text) = frame.read(field) { return words.contains(text) }
                    return false
                }
            }
            let needle = parts[0].expr
            return .boolean { frame in
                if case .string(let text) = needle(frame) { return words.contains(text) }
                return false
            }
        case "in":
            return pure2(try compileAll(args)) { needle, haystack in
                switch haystack {
                case .string(let text): return .bool(text.contains(needle.toText))
                case .array(let elements): return .bool(elements.contains { RuleValue.strictEquals($0, needle) })
                default: return .bool(false)
                }
            }
        case "cat":
            return pure(try compileAll(args)) { values in .string(values.map(\.toText).joined()) }
        case "substr":
            try requireArgs(op, args, 2...3, at: node)
            return pure(try compileAll(args)) { values in
                let text = Array(values[0].toText)
                var start = values[1].toNumber.integer ?? 0
                if start < 0 { start = max(text.count + start, 0) }
                start = min(start, text.count)
                var end = text.count
                if values.count > 2 {
                    let length = values[2].toNumber.integer ?? 0
                    end = length < 0 ? max(text.count + length, start) : min(start + length, text.count)
                }
                return .string(String(text[start..<end]))
            }
        case "merge":
            return pure(try compileAll(args)) { values in
                .array(values.flatMap { value -> [RuleValue] in value.arrayValue ?? [value] })
            }
        case "map", "filter", "all", "none", "some": return try iteration(op, args, at: node)
        case "reduce": return try reduce(args, at: node)
        case "log": return try compile(args.first ?? SourceNode(.null))
        default: return nil
        }
    }

    private func variable(_ args: [SourceNode], at node: SourceNode) throws(RuleError) -> Compiled {
        let fallback = args.count > 1 ? try compile(args[1]) : Compiled(constant: .null)
        let pathArg: Compiled? = args.isEmpty ? nil : try compile(args[0])
        let defaultExpr = fallback.expr
        if let constant = pathArg?.constant ?? (args.isEmpty ? RuleValue.null : nil) {
            let path: String
            switch constant {
            case .null: path = ""
            case .string(let s): path = s
            case .number(let n): path = n.description
            default: throw error(node, "'var' takes a path: text such as \"customer.tier\", a number, or \"\"")
            }
            let segments = splitPath(path)
            if depth == 0 && !segments.isEmpty {
                let slot = rootSlot(path)
                let expr: Expr = { frame in
                    let value = frame.slot(slot, segments)
                    if value.isNull { return defaultExpr(frame) }
                    frame.note(path, value)
                    return value
                }
                guard args.count < 2 else { return Compiled(expr) }
                // Without a default: typed reads of the cached slot.
                // They note the value too when an explanation is being gathered.
                let field = Compiled.RootField(slot: slot, path: segments, label: path)
                var compiled = Compiled(expr, test: { frame in frame.read(field).truthy }, number: { frame in
                    if frame.noting { _ = frame.read(field) }
                    return frame.numberSlot(slot, segments)
                })
                compiled.field = field
                return compiled
            }
            if depth == 0 {
                return Compiled { frame in RuleValue(frame.document.root) }
            }
            noteItemRead(path)
            if segments.count == 1 && args.count < 2 {
                // The common case inside a filter: one field of the current element.
                let name = segments[0]
                let field: Expr = { frame in
                    guard case .object(let members)? = frame.current else {
                        // Not an object (an array element of arrays: {"var": "1"} indexes it).
                        return frame.current.flatMap { resolve($0, segments) } ?? .null
                    }
                    for member in members where member.key == name { return member.value }
                    return .null
                }
                return Compiled(field, test: { frame in field(frame).truthy })
            }
            let expr: Expr = { frame in
                guard let current = frame.current, let value = resolve(current, segments), !value.isNull else {
                    return defaultExpr(frame)
                }
                return value
            }
            guard args.count < 2 else { return Compiled(expr) }
            return Compiled(expr, test: { frame in
                guard let current = frame.current, let value = resolve(current, segments) else { return false }
                return value.truthy
            })
        }
        // A path computed at evaluation time.
        let pathExpr = pathArg!.expr
        let atRoot = depth == 0
        return Compiled { frame in
            let segments = splitPath(pathExpr(frame).toText)
            let found: RuleValue?
            if atRoot { found = frame.document.resolve(segments).map(RuleValue.init) } else {
                found = frame.current.flatMap { resolve($0, segments) }
            }
            guard let value = found, !value.isNull else { return defaultExpr(frame) }
            return value
        }
    }

    /// `missing_some`'s and `missing`'s lookup: keys whose value is absent, null or "".
    func missingFunction() throws(RuleError) -> @Sendable (EvalFrame, [RuleValue]) -> [RuleValue] {
        let atRoot = depth == 0
        return { frame, keys in
            keys.filter { key in
                let segments = splitPath(key.toText)
                let value: RuleValue?
                if atRoot { value = frame.document.resolve(segments).map(RuleValue.init) } else {
                    value = frame.current.flatMap { resolve($0, segments) }
                }
                guard let value else { return true }
                if value.isNull { return true }
                if case .string(let s) = value, s.isEmpty { return true }
                return false
            }
        }
    }

    private func missing(_ args: [SourceNode]) throws(RuleError) -> Compiled {
        let parts = try compileAll(args).map(\.expr)
        let missingOf = try missingFunction()
        for arg in args where depth == 0 {
            if let path = arg.string { _ = rootSlot(path) }
        }
        return Compiled { frame in
            let values = parts.map { $0(frame) }
            let keys = values.first?.arrayValue ?? values
            return .array(missingOf(frame, keys))
        }
    }

    private func conditional(_ args: [SourceNode]) throws(RuleError) -> Compiled {
        let parts = try compileAll(args)
        if parts.isEmpty { return Compiled(constant: .null) }
        let exprs = parts.map(\.expr)
        return Compiled { frame in
            var index = 0
            while index < exprs.count - 1 {
                if exprs[index](frame).truthy { return exprs[index + 1](frame) }
                index += 2
            }
            return index == exprs.count - 1 ? exprs[index](frame) : .null
        }
    }

    private func logical(_ isAnd: Bool, _ args: [SourceNode]) throws(RuleError) -> Compiled {
        let parts = try compileAll(args)
        if parts.isEmpty { return Compiled(constant: .null) }
        let exprs = parts.map(\.expr)
        // In a condition only truthiness matters: and = all true, or = any true.
        let tests = parts.map(\.truth)
        let test: TruthExpr
        if tests.count == 2 {
            let (first, second) = (tests[0], tests[1])
            if isAnd { test = { frame in first(frame) && second(frame) } } else { test = { frame in first(frame) || second(frame) } }
        } else if isAnd {
            test = { frame in
                for test in tests where !test(frame) { return false }
                return true
            }
        } else {
            test = { frame in
                for test in tests where test(frame) { return true }
                return false
            }
        }
        if exprs.count == 2 {
            let (a, b) = (exprs[0], exprs[1])
            let pair: Expr
            if isAnd {
                pair = { frame in
                    let x = a(frame)
                    return x.truthy ? b(frame) : x
                }
            } else {
                pair = { frame in
                    let x = a(frame)
                    return x.truthy ? x : b(frame)
                }
            }
            return Compiled(pair, test: test)
        }
        let general: Expr = { frame in
            var last = RuleValue.null
            for expr in exprs {
                last = expr(frame)
                if last.truthy != isAnd { return last }
            }
            return last
        }
        return Compiled(general, test: test)
    }

    private func comparison(_ op: String, _ args: [SourceNode], at node: SourceNode) throws(RuleError) -> Compiled {
        try requireArgs(op, args, op.hasPrefix("<") ? 2...3 : 2...2, at: node)
        let test: @Sendable (Int) -> Bool
        switch op {
        case "<": test = { $0 < 0 }
        case "<=": test = { $0 <= 0 }
        case ">": test = { $0 > 0 }
        default: test = { $0 >= 0 }
        }
        let parts = try compileAll(args)
        if parts.count == 3 {
            // Between: {"<": [a, b, c]} is a < b < c.
            return pure(parts) { v in
                guard let first = RuleValue.compare(v[0], v[1]), test(first),
                      let second = RuleValue.compare(v[1], v[2]), test(second) else { return .bool(false) }
                return .bool(true)
            }
        }
        // One side always a number: JavaScript compares Number(a) with Number(b), typed.
        if (parts[0].isNumber || parts[1].isNumber) && (parts[0].constant == nil || parts[1].constant == nil) {
            let (a, b) = (parts[0].numeric, parts[1].numeric)
            if let bound = parts[1].constant?.numberValue {
                return .boolean { frame in Num.compare(a(frame), bound).map(test) ?? false }
            }
            return .boolean { frame in Num.compare(a(frame), b(frame)).map(test) ?? false }
        }
        return pureTest2(parts) { a, b in RuleValue.compare(a, b).map(test) ?? false }
    }

    /// -, / and %: JavaScript's Number(x) on both sides, always a number.
    func arithmetic(_ parts: [Compiled], _ body: @escaping @Sendable (Num, Num) -> Num) -> Compiled {
        if let x = parts[0].constant, let y = parts[1].constant { return Compiled(constant: .number(body(x.toNumber, y.toNumber))) }
        let (a, b) = (parts[0].numeric, parts[1].numeric)
        return .numeric { frame in body(a(frame), b(frame)) }
    }
}
