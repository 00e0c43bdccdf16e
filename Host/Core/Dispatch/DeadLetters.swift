import HubJSON
import HubLoader
import Synchronization

/// Deliveries a connector gave up on (refused for good, or out of attempts), kept in the
/// bus's key-value store (namespace `host.outbox`, key `<slot>/dead-letters`) so they survive
/// restarts, until a person replays them (`orderhub dispatch replay`).
public final class DeadLetters: Sendable {
    public struct Entry: Sendable {
        public let eventID: String
        public let orderID: String
        public let type: String
        public let connector: String
        public let error: String
        public let status: String
        public let attempts: Int
        public let timeUnixMillis: Int64
    }

    static let namespace = "host.outbox"
    let slot: String
    private let bus: PluginInstance
    private let lock = Mutex<Void>(())

    init(slot: String, bus: PluginInstance) {
        self.slot = slot
        self.bus = bus
    }

    private var key: String { "\(slot)/dead-letters" }

    public func list() throws(PluginCallError) -> [Entry] { try load().entries }

    func add(_ entry: Entry) throws(PluginCallError) {
        try update { entries in
            entries.removeAll { $0.eventID == entry.eventID }
            entries.append(entry)
        }
    }

    /// Removes and returns the entry for `eventID` (nil if there is none).
    func take(_ eventID: String) throws(PluginCallError) -> Entry? {
        var taken: Entry?
        try update { entries in
            guard let index = entries.firstIndex(where: { $0.eventID == eventID }) else { return }
            taken = entries.remove(at: index)
        }
        return taken
    }

    private func update(_ change: (inout [Entry]) -> Void) throws(PluginCallError) {
        try lock.withLock { _ throws(PluginCallError) in
            var (entries, revision) = try load()
            change(&entries)
            _ = try bus.kvPut(namespace: Self.namespace, key: key, value: Self.encode(entries), expectedRevision: revision ?? 0)
        }
    }

    private func load() throws(PluginCallError) -> (entries: [Entry], revision: UInt64?) {
        guard let (value, revision) = try bus.kvGet(namespace: Self.namespace, key: key) else { return ([], nil) }
        let list = (try? JSONParser.parse(value).arrayValue) ?? []
        return (list.compactMap(Self.decode), revision)
    }

    static func encode(_ entries: [Entry]) -> [UInt8] {
        var writer = JSONWriter()
        writer.array { a in
            for entry in entries { a.element(json(entry)) }
        }
        return writer.bytes
    }

    public static func json(_ e: Entry) -> JSONValue {
        .object([
            ("event_id", .string(e.eventID)), ("order_id", .string(e.orderID)), ("type", .string(e.type)),
            ("connector", .string(e.connector)), ("error", .string(e.error)), ("status", .string(e.status)),
            ("attempts", .number(String(e.attempts))), ("time_unix_ms", .number(String(e.timeUnixMillis))),
        ])
    }

    static func decode(_ v: JSONValue) -> Entry? {
        guard let id = v["event_id"]?.stringValue, let order = v["order_id"]?.stringValue else { return nil }
        return Entry(eventID: id, orderID: order, type: v["type"]?.stringValue ?? "", connector: v["connector"]?.stringValue ?? "",
                     error: v["error"]?.stringValue ?? "", status: v["status"]?.stringValue ?? "",
                     attempts: v["attempts"]?.intValue.map(Int.init) ?? 0, timeUnixMillis: v["time_unix_ms"]?.intValue ?? 0)
    }
}
