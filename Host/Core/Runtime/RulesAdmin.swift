import HubJSON
import HubLoader

/// The host side of /v1/rulesets: forwards admin commands to the rules plugin that serves
/// them (ABI 1.1 control) and gathers recorded orders from the state bus for a sandbox run.
/// The host knows nothing of the rule language; the plugin validates, stores and compiles.
public final class RulesAdmin: Sendable {
    let plugins: PluginSet

    init(plugins: PluginSet) {
        self.plugins = plugins
    }

    public enum Failure: Error, Sendable {
        /// No rules plugin answers admin commands (or none in the slot asked for).
        case noEngine(String)
        /// The slot is running a canary: a publish would reach one version only.
        case busy(String)
        case plugin(PluginCallError)
    }

    /// The rules instance for `slot`, or the only rules instance that answers control.
    func engine(_ slot: String?) throws(Failure) -> LiveSlot {
        let candidates = plugins.slots.filter { $0.kind == .rules && $0.primary.supportsControl }
        if let slot {
            guard let chosen = candidates.first(where: { $0.slot == slot }) else {
                throw .noEngine("no rules plugin in slot '\(slot)' answers ruleset commands (rules slots that do: \(candidates.map(\.slot).joined(separator: ", ")))")
            }
            return chosen
        }
        guard let first = candidates.first else {
            throw .noEngine("no rules plugin in this hub answers ruleset commands (needs ABI 1.1 control, e.g. orderhub.rules.engine)")
        }
        return first
    }

    /// Runs one command on the blocking lane (commands write to the bus's KV).
    public func command(_ name: String, _ args: JSONValue, slot: String? = nil) async -> Result<[UInt8], Failure> {
        let target: LiveSlot
        do { target = try engine(slot) } catch { return .failure(error) }
        if target.current.canary != nil && Self.changesLiveRules(name) {
            return .failure(.busy("slot '\(target.slot)' is running a canary (\(target.current.percent)%): promote or roll it back first (`orderhub canary promote|rollback \(target.slot)`), so both versions judge orders by the same rulesets"))
        }
        var writer = JSONWriter()
        writer.value(args)
        let bytes = writer.bytes
        return await BlockingLane.run {
            Result { () throws(Failure) in
                do throws(PluginCallError) {
                    return try target.use(order: nil) { instance throws(PluginCallError) in try instance.control(name, bytes) }
                } catch { throw .plugin(error) }
            }
        }
    }

    /// Commands that change what judges orders (refused while a canary runs; drafts, lint and
    /// the sandbox are fine).
    static func changesLiveRules(_ command: String) -> Bool { ["rulesets.publish", "rulesets.rollback"].contains(command) }

    /// Replays recorded orders into a draft: the last `last` orders accepted (optionally only
    /// those received between `since` and `until`), each with the predictions it had.
    public func simulate(ruleset: String, version: Int64?, last: Int, since: Int64?, until: Int64?, slot: String?) async -> Result<[UInt8], Failure> {
        let gathered: Result<[JSONValue], Failure> = await BlockingLane.run { [plugins] in
            Result { () throws(Failure) in
                do throws(PluginCallError) { return try Self.recordedOrders(plugins.bus, last: last, since: since, until: until) } catch { throw .plugin(error) }
            }
        }
        switch gathered {
        case .failure(let failure): return .failure(failure)
        case .success(let orders):
            var args: [(key: String, value: JSONValue)] = [("ruleset", .string(ruleset)), ("orders", .array(orders))]
            if let version { args.append(("version", .number(String(version)))) }
            return await command("rulesets.simulate", .object(args), slot: slot)
        }
    }

    /// Scans the log (oldest first) for order.received events and the risk each order got.
    static func recordedOrders(_ bus: PluginInstance, last: Int, since: Int64?, until: Int64?) throws(PluginCallError) -> [JSONValue] {
        var ring: [JSONValue] = []
        var predictions: [String: [(key: String, value: JSONValue)]] = [:]
        var inRing: Set<String> = []
        var offset: UInt64 = 0
        while true {
            let (json, next) = try bus.read(after: offset, max: 2000)
            let records = (try? JSONParser.parse(json))?.arrayValue ?? []
            if records.isEmpty || next == offset { break }
            offset = next
            for record in records {
                for event in record["events"]?.arrayValue ?? [] {
                    let type = event["type"]?.stringValue ?? ""
                    let subject = event["subject"]?.stringValue ?? ""
                    if type == EventTypes.riskScored, let data = event["data"] {
                        // Kept only for orders still among the last N (memory stays O(N)).
                        if inRing.contains(subject) {
                            predictions[subject, default: []].append((event["producer"]?.stringValue ?? "predictor", data))
                        }
                        continue
                    }
                    guard type == EventTypes.received, let order = event["data"] else { continue }
                    let time = event["time"]?.stringValue.flatMap(Timestamp.parseRFC3339) ?? 0
                    if let since, time < since { continue }
                    if let until, time >= until { continue }
                    ring.append(.object([("order", order), ("time", event["time"] ?? .null), ("subject", .string(subject))]))
                    inRing.insert(subject)
                    if ring.count > last * 2 {
                        for dropped in ring.prefix(ring.count - last) {
                            guard let gone = dropped["subject"]?.stringValue else { continue }
                            inRing.remove(gone)
                            predictions[gone] = nil
                        }
                        ring.removeFirst(ring.count - last)
                    }
                }
            }
        }
        return ring.suffix(last).map { entry in
            let subject = entry["subject"]?.stringValue ?? ""
            guard let found = predictions[subject] else { return entry }
            return .object((entry.objectValue ?? []) + [("predictions", .object(found))])
        }
    }
}
