import HubJSON
import Yams

/// A ruleset document (YAML or JSON) as a tree that remembers where each value was written,
/// so a type error can name file:line:column and not only "somewhere in rule 7".
public struct SourceNode: Sendable {
    public indirect enum Value: Sendable {
        case null
        case bool(Bool)
        /// Number text exactly as written ("300.00"), so money never passes through a double.
        case number(String)
        case string(String)
        case array([SourceNode])
        case object([(key: String, value: SourceNode)])
    }
    public let value: Value
    public let line: Int
    public let column: Int

    public init(_ value: Value, line: Int = 0, column: Int = 0) {
        self.value = value
        self.line = line
        self.column = column
    }

    public subscript(key: String) -> SourceNode? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var string: String? { if case .string(let s) = value { return s } else { return nil } }
    public var members: [(key: String, value: SourceNode)]? { if case .object(let m) = value { return m } else { return nil } }
    public var elements: [SourceNode]? { if case .array(let a) = value { return a } else { return nil } }
    public var isNull: Bool { if case .null = value { return true } else { return false } }

    public var typeName: String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    public var json: JSONValue {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return .number(n)
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.map(\.json))
        case .object(let m): return .object(m.map { ($0.key, $0.value.json) })
        }
    }

    /// A node from JSON (no positions): documents built in code, rules given on a command line.
    public init(json: JSONValue) {
        switch json {
        case .null: self.init(.null)
        case .bool(let b): self.init(.bool(b))
        case .number(let n): self.init(.number(n))
        case .string(let s): self.init(.string(s))
        case .array(let a): self.init(.array(a.map(SourceNode.init(json:))))
        case .object(let m): self.init(.object(m.map { ($0.key, SourceNode(json: $0.value)) }))
        }
    }

    /// Parses YAML or JSON text (JSON is YAML). Syntax errors carry their position.
    public static func parse(_ text: String, file: String) throws(RuleError) -> SourceNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                throw RuleError(file: file, line: mark.line, column: mark.column, message: "syntax: \(problem)")
            default:
                throw RuleError(file: file, line: 1, column: 1, message: "syntax: \(error)")
            }
        } catch {
            throw RuleError(file: file, line: 1, column: 1, message: "syntax: \(error)")
        }
        guard let root else { throw RuleError(file: file, line: 1, column: 1, message: "the file is empty") }
        return try convert(root, file: file)
    }

    private static func convert(_ node: Node, file: String) throws(RuleError) -> SourceNode {
        let line = node.mark?.line ?? 1, column = node.mark?.column ?? 1
        switch node {
        case .scalar(let scalar):
            // Plain scalars resolve by the YAML 1.2 core schema, as JSON would: null, true/false,
            // numbers; everything else is text (so `NO`, a country code, stays "NO"). Resolving
            // here rather than through Yams' tag resolver keeps a publish in the millisecond range.
            let text = scalar.string
            if scalar.style != .plain { return SourceNode(.string(text), line: line, column: column) }
            switch text {
            case "null", "Null", "NULL", "~", "": return SourceNode(.null, line: line, column: column)
            case "true", "True", "TRUE": return SourceNode(.bool(true), line: line, column: column)
            case "false", "False", "FALSE": return SourceNode(.bool(false), line: line, column: column)
            default: break
            }
            if let first = text.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
                let number = first == UInt8(ascii: "+") ? String(text.dropFirst()) : text
                if number.utf8.contains(where: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), Num.parse(number) != nil {
                    return SourceNode(.number(number), line: line, column: column)
                }
            }
            return SourceNode(.string(text), line: line, column: column)
        case .mapping(let mapping):
            var members: [(key: String, value: SourceNode)] = []
            for (key, value) in mapping {
                guard case .scalar(let k) = key else {
                    throw RuleError(file: file, line: key.mark?.line ?? line, column: key.mark?.column ?? column, message: "keys must be plain text")
                }
                if members.contains(where: { $0.key == k.string }) {
                    throw RuleError(file: file, line: key.mark?.line ?? line, column: key.mark?.column ?? column,
                                    message: "key '\(k.string)' appears twice")
                }
                members.append((k.string, try convert(value, file: file)))
            }
            return SourceNode(.object(members), line: line, column: column)
        case .sequence(let sequence):
            var elements: [SourceNode] = []
            for element in sequence { elements.append(try convert(element, file: file)) }
            return SourceNode(.array(elements), line: line, column: column)
        case .alias:
            throw RuleError(file: file, line: line, column: column, message: "YAML aliases are not supported in rules")
        }
    }
}

/// A ruleset problem with the place it was written: file, rule id, line and column.
public struct RuleError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var rule: String?
    public var message: String

    public init(file: String, line: Int, column: Int, rule: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.rule = rule
        self.message = message
    }

    public var description: String {
        "\(file):\(line):\(column): \(rule.map { "rule '\($0)': " } ?? "")\(message)"
    }

    public var json: JSONValue {
        .object([
            ("file", .string(file)), ("line", .number(String(line))), ("column", .number(String(column))),
            ("rule", rule.map(JSONValue.string) ?? .null), ("message", .string(message)),
        ])
    }
}
