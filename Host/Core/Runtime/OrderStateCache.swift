import HubLoader
import Synchronization

/// Live state and last sequence of recently touched orders, read through to the bus on a
/// miss. Written only by the committer thread, after a durable commit.
public final class OrderStateCache: Sendable {
    public struct Entry: Sendable, Equatable {
        public let state: String
        public let sequence: UInt64
    }

    private let bus: PluginInstance
    private let entries = Mutex<[String: Entry]>([:])
    private let capacity = 200_000
    /// Other hub nodes write the same bus: reads for callers go to the bus (the cache may be
    /// behind another node's step); the committer still plans from it and retries on conflict.
    private let shared: Bool

    init(bus: PluginInstance) {
        self.bus = bus
        shared = bus.sharedByNodes
    }

    /// The order's entry, from memory or the bus; nil if the order does not exist. A bus that
    /// cannot answer throws (it is not the same as "no such order"). Committer thread only.
    public func entry(_ order: String) throws(PluginCallError) -> Entry? {
        if let cached = entries.withLock({ $0[order] }) { return cached }
        guard let stored = try bus.orderState(order) else { return nil }
        let entry = Entry(state: stored.state, sequence: stored.sequence)
        set(order, entry)
        return entry
    }

    /// The same, for threads other than the committer: a miss reads the bus but does not fill
    /// the cache (a value read here could land after a newer one the committer wrote).
    public func read(_ order: String) throws(PluginCallError) -> Entry? {
        if !shared, let cached = entries.withLock({ $0[order] }) { return cached }
        guard let stored = try bus.orderState(order) else { return nil }
        return Entry(state: stored.state, sequence: stored.sequence)
    }

    func set(_ order: String, _ entry: Entry) {
        entries.withLock { all in
            // Bounded: dropping everything is cheap and the bus answers misses.
            if all.count >= capacity { all.removeAll(keepingCapacity: true) }
            all[order] = entry
        }
    }

    /// Another hub node moved the order (seen in the shared log): a cached entry behind it
    /// catches up. Orders not cached stay uncached (a miss reads the bus).
    func observe(_ order: String, state: String?, sequence: UInt64) {
        entries.withLock { all in
            guard let cached = all[order], cached.sequence < sequence else { return }
            all[order] = Entry(state: state ?? cached.state, sequence: sequence)
        }
    }

    func forget(_ order: String) { _ = entries.withLock { $0.removeValue(forKey: order) } }
}
