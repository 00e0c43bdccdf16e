import HubJSON
import Yams

/// Reads typed values out of YAML nodes and collects problems with their positions.
final class NodeReader {
    let file: String
    private(set) var problems: [ManifestError.Problem] = []

    init(file: String) { self.file = file }

    func position(_ node: Node) -> Manifest.Position {
        Manifest.Position(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func report(_ node: Node, _ message: String) { problems.append(.init(position: position(node), message: message)) }
    func report(at position: Manifest.Position, _ message: String) { problems.append(.init(position: position, message: message)) }

    func problem(for error: YamlError) -> ManifestError.Problem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return .init(position: .init(file: file, line: mark.line, column: mark.column), message: "YAML syntax: \(problem)")
        default:
            return .init(position: .init(file: file, line: 1, column: 1), message: "YAML: \(error)")
        }
    }

    func rejectUnknown(_ mapping: Node.Mapping, allowed: [String], in place: String) {
        for (key, _) in mapping {
            guard let name = key.string, !allowed.contains(name) else { continue }
            report(key, "\(place): unknown key '\(name)' (allowed: \(allowed.joined(separator: ", ")))")
        }
    }

    func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node, tagName(node) != .null else {
            report(node, "\(what): expected a string")
            return nil
        }
        return scalar.string
    }

    func int(_ node: Node, _ what: String, range: ClosedRange<Int>) -> Int? {
        guard let value = node.int, tagName(node) == .int else {
            report(node, "\(what): expected an integer, got '\(node.string ?? "a \(tagName(node).rawValue)")'")
            return nil
        }
        guard range.contains(value) else {
            report(node, "\(what): \(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    /// Converts a config subtree to JSON, keeping YAML's resolved scalar types.
    func json(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch tagName(node) {
            case .null: return .null
            case .bool: return .bool(node.bool ?? false)
            case .int: return .number(String(node.int ?? 0))
            case .float:
                let value = node.float ?? 0
                return value.isFinite ? .number(String(value)) : .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .mapping(let mapping):
            return .object(mapping.map { (key: $0.key.string ?? "", value: json($0.value)) })
        case .sequence(let sequence):
            return .array(sequence.map { json($0) })
        case .alias:
            report(node, "config: YAML aliases are not supported here")
            return .null
        }
    }
}

/// The resolved YAML tag of a node ("tag:yaml.org,2002:int"...).
func tagName(_ node: Node) -> Tag.Name { Tag.Name(rawValue: node.tag.description) }
