import HubJSON
import HubLoader
import Logging

/// Finds what each connector still owes after a restart or crash: the events of its
/// subscribed types, above its watermark, with no outcome recorded for it (acknowledged, or
/// failed for good), in log order. Also returns the log's tail offset.
struct OutboxRecovery {
    struct Connector {
        let slot: String
        let types: [String]
    }

    static let namespace = "host.outbox"
    static func watermarkKey(_ slot: String) -> String { "\(slot)/watermark" }

    let bus: PluginInstance
    let logger: Logger

    /// The saved watermark, or nil for a connector slot this bus has never seen. A bus that
    /// cannot answer throws: that is not "new" (treating it so would drop what is owed). An
    /// unreadable value reads as 0: everything is scanned, nothing skipped.
    func watermark(_ slot: String) throws(PluginCallError) -> UInt64? {
        guard let found = try bus.kvGet(namespace: Self.namespace, key: Self.watermarkKey(slot)) else { return nil }
        return UInt64(String(decoding: found.value, as: UTF8.self)) ?? 0
    }

    func saveWatermark(_ slot: String, _ offset: UInt64) throws(PluginCallError) {
        _ = try bus.kvPut(namespace: Self.namespace, key: Self.watermarkKey(slot), value: Array(String(offset).utf8),
                          expectedRevision: UInt64.max)
    }

    /// Pending items per connector slot, and the tail offset of the log, in one pass from the
    /// lowest saved watermark. A connector slot new to this bus starts at the log's tail (an
    /// added TMS must not be sent every past order); its watermark is saved before anything new
    /// is written, so a crash cannot make it start later.
    /// `upTo` bounds the scan (a node that just gained a dispatch lease scans to where it follows the log from).
    func scan(_ connectors: [Connector], upTo: UInt64 = UInt64.max) throws(PluginCallError) -> (pending: [String: [OutboxItem]], tail: UInt64) {
        var marks: [String: UInt64] = [:]
        var fresh: [String] = []
        for connector in connectors {
            if let mark = try watermark(connector.slot) { marks[connector.slot] = mark } else { fresh.append(connector.slot) }
        }
        let known = !marks.isEmpty
        var offset = marks.values.min() ?? 0
        for slot in fresh { marks[slot] = UInt64.max }  // owed nothing from the past
        var open: [String: [(id: String, item: OutboxItem)]] = [:]
        var settled: [String: Set<String>] = [:]
        // Nothing saved to look for: only the tail counts (a node taking a lease knows it already).
        if !known && upTo != UInt64.max { offset = upTo }
        while offset < upTo {
            let (json, next) = try bus.read(after: offset, max: 2000)
            if next <= offset { break }
            // With no saved watermark at all there is nothing to look for: only the tail counts.
            for record in known ? (try? JSONParser.parse(json).arrayValue) ?? [] : [] {
                let recordOffset = UInt64(record["offset"]?.intValue ?? 0)
                if recordOffset > upTo { break }
                for event in record["events"]?.arrayValue ?? [] {
                    note(event, floor: recordOffset > 0 ? recordOffset - 1 : 0, connectors: connectors, marks: marks, open: &open, settled: &settled)
                }
            }
            offset = min(next, upTo)
        }
        for slot in fresh {
            try saveWatermark(slot, offset)
            logger.info("connector \(slot) is new to this bus: it starts at log offset \(offset)")
        }
        var pending: [String: [OutboxItem]] = [:]
        for connector in connectors {
            let done = settled[connector.slot] ?? []
            pending[connector.slot] = (open[connector.slot] ?? []).filter { !done.contains($0.id) }.map(\.item)
        }
        return (pending, offset)
    }

    private func note(_ event: JSONValue, floor: UInt64, connectors: [Connector], marks: [String: UInt64],
                      open: inout [String: [(id: String, item: OutboxItem)]], settled: inout [String: Set<String>]) {
        guard let type = event["type"]?.stringValue, let id = event["id"]?.stringValue else { return }
        let data = event["data"]
        for connector in connectors where floor >= marks[connector.slot] ?? 0 {
            if connector.types.contains(type), let bus = BusEvent(stored: event, keepingState: false) {
                open[connector.slot, default: []].append((id, OutboxItem(event: bus, floor: floor)))
            } else if data?["connector"]?.stringValue == connector.slot, let target = data?["event"]?.stringValue {
                switch type {
                case EventTypes.dispatchAcknowledged: settled[connector.slot, default: []].insert(target)
                case EventTypes.dispatchFailed where data?["final"]?.boolValue == true: settled[connector.slot, default: []].insert(target)
                case EventTypes.dispatchReplayed:
                    // A person replayed a dead letter: owed again, from the original event.
                    settled[connector.slot]?.remove(target)
                    if let original = original(target, order: event["subject"]?.stringValue) {
                        open[connector.slot, default: []].removeAll { $0.id == target }
                        open[connector.slot, default: []].append((target, OutboxItem(event: original, floor: floor)))
                    }
                default: break
                }
            }
        }
    }

    /// The event `id` out of the order's timeline.
    func original(_ id: String, order: String?) -> BusEvent? {
        guard let order, let json = try? bus.timeline(order), let list = try? JSONParser.parse(json).arrayValue,
              let found = list.first(where: { $0["id"]?.stringValue == id }) else { return nil }
        return BusEvent(stored: found, keepingState: false)
    }
}
