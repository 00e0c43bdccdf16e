import HubJSON

/// map, filter, all, none, some and reduce: their bodies read the current element.
extension LogicCompiler {
    func iteration(_ op: String, _ args: [SourceNode], at node: SourceNode) throws(RuleError) -> Compiled {
        try requireArgs(op, args, 2...2, at: node)
        let sourceNode = try compile(args[0])
        let source = sourceNode.expr
        // Over the order's lines ({"var": "items"}): the lines converted once per evaluation.
        let overItems = depth == 0 && args[0]["var"]?.string == "items"
        let bodyCompiled = try compileScoped(args[1], items: overItems)
        let body = bodyCompiled.expr
        let bodyTest = bodyCompiled.truth
        if ["all", "none", "some"].contains(op) {
            let mode = op
            let elementsOf: @Sendable (EvalFrame) -> [RuleValue]
            if overItems {
                elementsOf = { frame in frame.items }
            } else {
                elementsOf = { frame in source(frame).arrayValue ?? [] }
            }
            return .boolean { frame in
                let elements = elementsOf(frame)
                if mode == "all" && elements.isEmpty { return false }
                for element in elements {
                    let saved = frame.enter(element)
                    let hit = bodyTest(frame)
                    frame.leave(saved)
                    if mode == "all" && !hit { return false }
                    if mode != "all" && hit { return mode == "some" }
                }
                return mode != "some"
            }
        }
        let run: @Sendable (EvalFrame, [RuleValue]) -> RuleValue
        switch op {
        case "map":
            run = { frame, elements in
                .array(elements.map { element in
                    let saved = frame.enter(element)
                    defer { frame.leave(saved) }
                    return body(frame)
                })
            }
        case "filter":
            run = { frame, elements in
                .array(elements.filter { element in
                    let saved = frame.enter(element)
                    defer { frame.leave(saved) }
                    return body(frame).truthy
                })
            }
        default:
            let mode = op
            run = { frame, elements in
                if mode == "all" && elements.isEmpty { return .bool(false) }
                for element in elements {
                    let saved = frame.enter(element)
                    let hit = body(frame).truthy
                    frame.leave(saved)
                    if mode == "all" && !hit { return .bool(false) }
                    if mode != "all" && hit { return .bool(mode == "some") }
                }
                return .bool(mode != "some")
            }
        }
        return Compiled { frame in run(frame, source(frame).arrayValue ?? []) }
    }

    func reduce(_ args: [SourceNode], at node: SourceNode) throws(RuleError) -> Compiled {
        try requireArgs("reduce", args, 2...3, at: node)
        let source = try compile(args[0]).expr
        let body = try compileScoped(args[1]).expr
        let initial = try compile(args.count > 2 ? args[2] : SourceNode(.null)).expr
        return Compiled { frame in
            var accumulator = initial(frame)
            for element in source(frame).arrayValue ?? [] {
                let saved = frame.enter(.object([("current", element), ("accumulator", accumulator)]))
                accumulator = body(frame)
                frame.leave(saved)
            }
            return accumulator
        }
    }
}
