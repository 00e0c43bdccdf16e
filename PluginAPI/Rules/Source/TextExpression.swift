/// The readable text form of a condition, for people who would rather not write JSON:
///
///     items_total(not in_table(sku, presale_skus)) >= 300 and customer.tier in ['gold', 'platinum']
///
/// It compiles to exactly the JSON Logic tree a visual builder would export, so both forms mean
/// the same and run the same:
///
/// | text | JSON Logic |
/// |---|---|
/// | `customer.tier` | `{"var": "customer.tier"}` |
/// | `a == b`, `!=`, `<`, `<=`, `>`, `>=` | `{"==": [a, b]}`, ... (loose equality, as JSON Logic) |
/// | `a in [x, y]`, `a in "text"` | `{"in": [a, [x, y]]}` |
/// | `a and b and c`, `a or b`, `not a` | `{"and": [a, b, c]}`, `{"or": [a, b]}`, `{"!": [a]}` |
/// | `a + b`, `-`, `*`, `/`, `%` | `{"+": [a, b]}`, ... |
/// | `f(x, y)` | `{"f": [x, y]}` for any operator: `items_total(...)`, `some(items, ...)`, `risk('late_delivery')` |
/// | `'text'`, `"text"`, `300`, `12.50`, `true`, `false`, `null`, `[1, 2]` | literals |
public enum TextExpression {
    /// Parses `text`, reporting errors at the position inside `file` where the text starts.
    public static func parse(_ text: String, file: String, line: Int, column: Int) throws(RuleError) -> SourceNode {
        var parser = Parser(bytes: Array(text.utf8), file: file, line: line, column: column)
        let node = try parser.expression()
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected '\(parser.rest)' after the expression") }
        return node
    }

    struct Parser {
        let bytes: [UInt8]
        let file: String
        let line: Int
        let column: Int
        var index = 0

        init(bytes: [UInt8], file: String, line: Int, column: Int) {
            self.bytes = bytes
            self.file = file
            self.line = line
            self.column = column
        }

        var rest: String { String(decoding: bytes[index...].prefix(20), as: UTF8.self) }

        func error(_ message: String) -> RuleError {
            // Position within the text: lines counted, columns from the text's own start.
            var l = line, c = column
            for byte in bytes[..<min(index, bytes.count)] {
                if byte == 10 { l += 1; c = 1 } else { c += 1 }
            }
            return RuleError(file: file, line: l, column: c, message: "in the condition text: \(message)")
        }

        func node(_ value: SourceNode.Value) -> SourceNode { SourceNode(value, line: line, column: column) }

        mutating func skipSpace() {
            while index < bytes.count, [32, 9, 10, 13].contains(bytes[index]) { index += 1 }
        }

        mutating func take(_ symbol: String) -> Bool {
            skipSpace()
            let utf8 = Array(symbol.utf8)
            guard index + utf8.count <= bytes.count, Array(bytes[index..<index + utf8.count]) == utf8 else { return false }
            // A word must not run on into an identifier ("order" is not "or" + "der").
            if let last = utf8.last, Self.isWord(last), index + utf8.count < bytes.count, Self.isWord(bytes[index + utf8.count]) { return false }
            // "<" must not be the start of "<=".
            if (symbol == "<" || symbol == ">" || symbol == "=") && index + 1 < bytes.count && bytes[index + 1] == 61 { return false }
            index += utf8.count
            return true
        }

        static func isWord(_ byte: UInt8) -> Bool {
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95
        }

        mutating func expression() throws(RuleError) -> SourceNode { try chain("or", next: { (p: inout Parser) throws(RuleError) in try p.conjunction() }) }

        mutating func conjunction() throws(RuleError) -> SourceNode { try chain("and", next: { (p: inout Parser) throws(RuleError) in try p.negation() }) }

        /// `a op b op c` → {"op": [a, b, c]} (and/or take any number of arguments).
        mutating func chain(_ word: String, next: (inout Parser) throws(RuleError) -> SourceNode) throws(RuleError) -> SourceNode {
            var parts = [try next(&self)]
            while take(word) { parts.append(try next(&self)) }
            return parts.count == 1 ? parts[0] : node(.object([(word, node(.array(parts)))]))
        }

        mutating func negation() throws(RuleError) -> SourceNode {
            if take("not") { return node(.object([("!", node(.array([try negation()])))])) }
            return try comparison()
        }

        mutating func comparison() throws(RuleError) -> SourceNode {
            let left = try sum()
            for op in ["==", "!=", "<=", ">=", "<", ">", "in"] where take(op) {
                return node(.object([(op, node(.array([left, try sum()])))]))
            }
            if take("=") { throw error("use == to compare, not =") }
            return left
        }

        mutating func sum() throws(RuleError) -> SourceNode {
            var left = try product()
            while true {
                if take("+") { left = node(.object([("+", node(.array([left, try product()])))])) }
                else if take("-") { left = node(.object([("-", node(.array([left, try product()])))])) }
                else { return left }
            }
        }

        mutating func product() throws(RuleError) -> SourceNode {
            var left = try unary()
            while true {
                if take("*") { left = node(.object([("*", node(.array([left, try unary()])))])) }
                else if take("/") { left = node(.object([("/", node(.array([left, try unary()])))])) }
                else if take("%") { left = node(.object([("%", node(.array([left, try unary()])))])) }
                else { return left }
            }
        }

        mutating func unary() throws(RuleError) -> SourceNode {
            skipSpace()
            if index < bytes.count, bytes[index] == 45, index + 1 < bytes.count, !(bytes[index + 1] >= 48 && bytes[index + 1] <= 57) {
                index += 1
                return node(.object([("-", node(.array([try unary()])))]))
            }
            return try primary()
        }

        mutating func primary() throws(RuleError) -> SourceNode {
            skipSpace()
            guard index < bytes.count else { throw error("the condition ends too early") }
            let byte = bytes[index]
            if take("(") {
                let inner = try expression()
                guard take(")") else { throw error("a ')' is missing") }
                return inner
            }
            if take("[") {
                var elements: [SourceNode] = []
                if !take("]") {
                    repeat { elements.append(try expression()) } while take(",")
                    guard take("]") else { throw error("a ']' is missing") }
                }
                return node(.array(elements))
            }
            if byte == 39 || byte == 34 { return try quoted(byte) }
            if (byte >= 48 && byte <= 57) || byte == 45 { return try number() }
            guard Self.isWord(byte) else { throw error("unexpected '\(rest)'") }
            var path = identifier()
            switch path {
            case "true": return node(.bool(true))
            case "false": return node(.bool(false))
            case "null": return node(.null)
            default: break
            }
            if take("(") {
                var args: [SourceNode] = []
                if !take(")") {
                    repeat {
                        // items is the list to iterate in some/all/none/filter/map/reduce.
                        args.append(try expression())
                    } while take(",")
                    guard take(")") else { throw error("a ')' is missing after the arguments of \(path)") }
                }
                return node(.object([(path, node(.array(args)))]))
            }
            while index < bytes.count, bytes[index] == 46 {
                index += 1
                let segment = identifier()
                guard !segment.isEmpty else { throw error("a field name is missing after '.'") }
                path += "." + segment
            }
            return node(.object([("var", node(.string(path)))]))
        }

        mutating func identifier() -> String {
            let start = index
            while index < bytes.count, Self.isWord(bytes[index]) { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func number() throws(RuleError) -> SourceNode {
            let start = index
            if bytes[index] == 45 { index += 1 }
            while index < bytes.count, (bytes[index] >= 48 && bytes[index] <= 57) || bytes[index] == 46 { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard Num.parse(text) != nil else { throw error("'\(text)' is not a number") }
            return node(.number(text))
        }

        mutating func quoted(_ quote: UInt8) throws(RuleError) -> SourceNode {
            index += 1
            var out: [UInt8] = []
            while index < bytes.count, bytes[index] != quote {
                if bytes[index] == 92, index + 1 < bytes.count { index += 1 }
                out.append(bytes[index])
                index += 1
            }
            guard index < bytes.count else { throw error("a closing quote is missing") }
            index += 1
            return node(.string(String(decoding: out, as: UTF8.self)))
        }
    }
}
