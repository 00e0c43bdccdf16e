import Dispatch
import HubJSON
import HubLoader
import Logging
import Synchronization

/// Hands committed events to whoever asked for them: connectors (by the manifest's
/// `subscribes`) and plugins that called the host's `subscribe` service.
public final class EventRouter: Sendable {
    struct Subscription: Sendable {
        let id: UInt64
        let pattern: String
        let context: HostContext
        let lane: DispatchQueue
    }

    private let dispatchers = Mutex<[(types: [String], dispatcher: Dispatcher)]>([])
    private let subscriptions = Mutex<[Subscription]>([])
    private let nextID = Atomic<UInt64>(1)
    private let logger: Logger
    /// Slots whose manifest entry grants only some order fields (FieldGrant).
    private let grants = Mutex<[String: FieldGrant]>([:])

    init(logger: Logger) { self.logger = logger }

    func add(_ dispatcher: Dispatcher, types: [String]) { dispatchers.withLock { $0.append((types, dispatcher)) } }

    func remove(_ dispatcher: Dispatcher) { dispatchers.withLock { $0.removeAll { $0.dispatcher === dispatcher } } }

    /// Whether anyone takes routed events (a connector's dispatcher or a plugin subscription).
    var hasConsumers: Bool { !dispatchers.withLock { $0.isEmpty } || !subscriptions.withLock { $0.isEmpty } }

    func setGrant(_ grant: FieldGrant?, slot: String) { grants.withLock { $0[slot] = grant } }

    /// Drops every subscription of a retired instance and waits for events already handed to
    /// it (each subscription's lane is serial, so an empty block queued last runs last).
    func retire(_ context: HostContext) {
        let gone = subscriptions.withLock { all -> [Subscription] in
            let mine = all.filter { $0.context === context }
            all.removeAll { $0.context === context }
            return mine
        }
        for sub in gone { sub.lane.sync {} }
    }

    func subscribe(_ context: HostContext, pattern: String) -> UInt64 {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let lane = DispatchQueue(label: "orderhub.events.\(context.slot).\(id)")
        subscriptions.withLock { $0.append(Subscription(id: id, pattern: pattern, context: context, lane: lane)) }
        return id
    }

    func unsubscribe(_ context: HostContext, id: UInt64) -> Bool {
        subscriptions.withLock { all in
            let before = all.count
            all.removeAll { $0.id == id && $0.context === context }
            return all.count != before
        }
    }

    /// Called by the committer with each durable group. Connectors get their events first,
    /// then learn the group's last offset (so their watermark never passes an unrouted event).
    func route(_ group: CommittedGroup) {
        let events = group.events
        let targets = dispatchers.withLock { $0 }
        for target in targets {
            target.dispatcher.enqueue(events.filter { target.types.contains($0.type) }.map { OutboxItem(event: $0, floor: group.floor, rebuild: group.fromLog && $0.type == EventTypes.dispatchRequested) }, routed: true)
            target.dispatcher.observe(committedUpTo: group.last)
        }
        let subs = subscriptions.withLock { $0 }
        guard !subs.isEmpty else { return }
        for sub in subs {
            var matching = events.filter { Self.matches(sub.pattern, $0.type) }
            guard !matching.isEmpty else { continue }
            if let grant = grants.withLock({ $0[sub.context.slot] }) {
                // The received order is the one event that carries the order's fields.
                matching = matching.map { event in
                    guard event.type == EventTypes.received, let order = try? JSONParser.parse(event.data) else { return event }
                    var cut = event
                    var writer = JSONWriter(capacity: event.data.count)
                    writer.value(grant.apply(toOrderJSON: order))
                    cut.data = writer.bytes
                    return cut
                }
            }
            sub.lane.async { [logger, matching] in
                for event in matching {
                    guard let instance = sub.context.handle, !instance.isDestroyed else { return }
                    do throws(PluginCallError) {
                        try instance.onEvent(event)
                    } catch {
                        logger.warning("on_event to \(sub.context.slot) failed: \(error)")
                    }
                }
            }
        }
    }

    /// Exact type, or a prefix when the pattern ends in '*'.
    static func matches(_ pattern: String, _ type: String) -> Bool {
        pattern.hasSuffix("*") ? type.hasPrefix(pattern.dropLast()) : pattern == type
    }
}
