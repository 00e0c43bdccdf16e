import HubJSON
import HubLoader

/// What `orderhub apply` would change in the running hub, shown before anything changes
/// (like `terraform plan`), and why a change cannot be made live when it cannot.
public struct CompositionPlan: Sendable {
    public enum Action: String, Sendable {
        /// A new slot: load its library and create it.
        case load
        /// Another library (version) in a slot: hot swap with state hand-over.
        case swap
        /// The same library with another config: a new instance, state handed over.
        case reconfigure
        /// Other order fields granted (`fields:`).
        case regrant
        /// A slot taken out: retired after the calls in flight.
        case remove
        case canaryStart = "canary_start"
        case canaryPercent = "canary_percent"
        case canaryPromote = "canary_promote"
        case canaryRollback = "canary_rollback"
        /// Another pipeline order.
        case pipeline
        /// Another admin section (tokens are read again).
        case admin
    }

    public struct Change: Sendable {
        public let action: Action
        public let slot: String
        /// What serves the slot now and what will: "id version (sha256 prefix)".
        public let from: String?
        public let to: String?
        public let detail: String
    }

    public let manifest: Manifest
    public let changes: [Change]
    /// What cannot be carried out, each with the manifest position that asks for it.
    public let refusals: [ManifestError.Problem]

    public var isEmpty: Bool { changes.isEmpty && refusals.isEmpty }
    public var canApply: Bool { refusals.isEmpty }

    /// One line per change, `+`/`~`/`-` as a diff reads, then the refusals.
    public var text: String {
        var lines: [String] = []
        for change in changes {
            let mark: String
            switch change.action {
            case .load: mark = "+"
            case .remove: mark = "-"
            default: mark = "~"
            }
            var line = "\(mark) \(change.action.rawValue) \(change.slot)"
            if let from = change.from, let to = change.to { line += ": \(from) -> \(to)" } else if let to = change.to { line += ": \(to)" } else if let from = change.from { line += ": \(from)" }
            if !change.detail.isEmpty { line += " (\(change.detail))" }
            lines.append(line)
        }
        if changes.isEmpty && refusals.isEmpty { lines.append("no changes: the running hub matches \(manifest.path)") }
        for refusal in refusals { lines.append("! \(refusal)") }
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([
            ("manifest", .string(manifest.path)),
            ("can_apply", .bool(canApply)),
            ("changes", .array(changes.map { change in
                var members: [(key: String, value: JSONValue)] = [("action", .string(change.action.rawValue)), ("slot", .string(change.slot))]
                if let from = change.from { members.append(("from", .string(from))) }
                if let to = change.to { members.append(("to", .string(to))) }
                if !change.detail.isEmpty { members.append(("detail", .string(change.detail))) }
                return .object(members)
            })),
            ("refused", .array(refusals.map { problem in
                .object([("at", .string(problem.position.description)), ("message", .string(problem.message))])
            })),
        ])
    }
}
