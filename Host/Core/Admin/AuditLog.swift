import HubJSON
import HubLoader

/// Every admin action, who did it, when, and what it changed, kept as CloudEvents in the
/// state bus: each in the event log (type `com.orderhub.admin.action.v1`, a hub-wide
/// event with no order) and indexed in the bus's key-value store (`host.audit`) so the
/// newest can be read without scanning the log (GET /v1/audit).
public final class AuditLog: Sendable {
    public static let eventType = "com.orderhub.admin.action.v1"
    static let namespace = "host.audit"
    let bus: PluginInstance
    let committer: GroupCommitter

    init(bus: PluginInstance, committer: GroupCommitter) {
        self.bus = bus
        self.committer = committer
    }

    public struct Entry: Sendable {
        public var actor: String
        public var role: String
        /// e.g. "POST /v1/admin/apply".
        public var action: String
        /// What it acted on (a slot, a ruleset, an event id), when one.
        public var target: String
        public var status: Int
        public var before: JSONValue?
        public var after: JSONValue?
        public var detail: JSONValue?

        public init(actor: String, role: String, action: String, target: String, status: Int,
                    before: JSONValue? = nil, after: JSONValue? = nil, detail: JSONValue? = nil) {
            self.actor = actor
            self.role = role
            self.action = action
            self.target = target
            self.status = status
            self.before = before
            self.after = after
            self.detail = detail
        }
    }

    /// Records one action durably (blocks for the commit); false when the bus refused it.
    @discardableResult
    public func record(_ entry: Entry) -> Bool {
        let now = Clock.wallNanos()
        var data = JSONWriter()
        data.object { o in
            o.field("actor", entry.actor)
            o.field("role", entry.role)
            o.field("action", entry.action)
            if !entry.target.isEmpty { o.field("target", entry.target) }
            o.field("status", Int64(entry.status))
            if let before = entry.before { o.field("before", before) }
            if let after = entry.after { o.field("after", after) }
            if let detail = entry.detail { o.field("detail", detail) }
        }
        for _ in 0..<20 {
            do throws(PluginCallError) {
                let head = try bus.kvGet(namespace: Self.namespace, key: "head")
                let number = head.flatMap { UInt64(String(decoding: $0.value, as: UTF8.self)) } ?? 0
                let id = "audit-\(number + 1)"
                let event = BusEvent(id: id, source: "/orderhub/admin", type: Self.eventType, subject: "", data: data.bytes,
                                     producer: "host", timeUnixNanos: now, sequence: 0)
                // The number is taken first (compare-and-set), so two admins never share one.
                _ = try bus.kvPut(namespace: Self.namespace, key: "head", value: Array(String(number + 1).utf8), expectedRevision: head?.revision ?? 0)
                var writer = JSONWriter()
                writer.object { o in
                    o.field("specversion", "1.0")
                    o.field("id", id)
                    o.field("source", "/orderhub/admin")
                    o.field("type", Self.eventType)
                    o.field("time", Timestamp.rfc3339(unixNanos: now))
                    o.field("datacontenttype", "application/json")
                    o.rawField("data", data.bytes)
                }
                _ = try bus.kvPut(namespace: Self.namespace, key: Self.key(number + 1), value: writer.bytes, expectedRevision: UInt64.max)
                if case .failure = committer.commitBlocking(CommitRequest(subject: "", events: [event], precondition: .none)) { return false }
                return true
            } catch where error.status == 9 {
                continue  // another action took the number: take the next
            } catch {
                return false
            }
        }
        return false
    }

    /// The newest entries first, at most `limit`, older than entry number `before` when given.
    public func entries(limit: Int, before: UInt64?) throws(PluginCallError) -> (entries: [JSONValue], next: UInt64?) {
        guard let head = try bus.kvGet(namespace: Self.namespace, key: "head"),
              let last = UInt64(String(decoding: head.value, as: UTF8.self)) else { return ([], nil) }
        var number = min(last, (before ?? last + 1) &- 1)
        var found: [JSONValue] = []
        while number > 0 && found.count < limit {
            if let stored = try bus.kvGet(namespace: Self.namespace, key: Self.key(number)), let value = try? JSONParser.parse(stored.value) {
                found.append(value)
            }
            number -= 1
        }
        return (found, number > 0 ? number + 1 : nil)
    }

    static func key(_ number: UInt64) -> String {
        let digits = String(number)
        return "e/" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }
}
