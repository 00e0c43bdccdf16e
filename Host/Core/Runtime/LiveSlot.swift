import HubLoader
import Synchronization

/// One slot of the running hub and the instance(s) serving it. Every call into a plugin of
/// the pipeline or a connector goes through `use`, so a hot swap can wait for the calls in
/// flight, hand the state over and switch in one step (see Composer).
///
/// With a canary, a share of orders goes to the new version: chosen by a hash of the order
/// id, so one order always sees one version (its create and its cancel reach the same
/// connector version; a retry is judged by the same rules).
public final class LiveSlot: Sendable {
    public let name: String
    public let kind: PluginDescriptor.Kind

    public struct Routing: Sendable {
        public var primary: any PluginHandle
        public var spec: Manifest.Plugin
        public var canary: (any PluginHandle)?
        public var canarySpec: Manifest.Plugin?
        /// Share of orders (0–100) the canary serves.
        public var percent: Int = 0
    }

    private let lock = SwapLock()
    private let routing: Mutex<Routing>

    init(spec: Manifest.Plugin, instance: any PluginHandle) {
        name = spec.slot
        kind = spec.kind
        routing = Mutex(Routing(primary: instance, spec: spec))
    }

    public var slot: String { name }

    /// The order fields the manifest grants this slot (nil: the whole order).
    public var grant: FieldGrant? { routing.withLock { $0.spec.fields.map(FieldGrant.init) } }

    /// What serves the slot now.
    public var current: Routing { routing.withLock { $0 } }
    public var primary: any PluginHandle { routing.withLock { $0.primary } }
    /// Every live instance (primary first), e.g. for health and metrics.
    public var instances: [any PluginHandle] { routing.withLock { r in [r.primary] + (r.canary.map { [$0] } ?? []) } }

    /// Runs `body` with the instance that serves `order` (nil: the primary). Waits while a
    /// swap is switching; never call `use` again from inside `body` on the same slot.
    public func use<R, E: Error>(order: String?, _ body: (any PluginHandle) throws(E) -> R) throws(E) -> R {
        try use(order: order) { (instance, _) throws(E) -> R in try body(instance) }
    }

    /// `use`, also telling `body` whether the canary serves this order.
    public func use<R, E: Error>(order: String?, _ body: (any PluginHandle, _ canary: Bool) throws(E) -> R) throws(E) -> R {
        try lock.shared { () throws(E) -> R in
            let (instance, isCanary) = routing.withLock { r -> (any PluginHandle, Bool) in
                guard let canary = r.canary, let order, Self.bucket(order) < r.percent else { return (r.primary, false) }
                return (canary, true)
            }
            return try body(instance, isCanary)
        }
    }

    /// How long a swap waits for the calls already in flight before it gives up.
    static let drainMillis = 30_000

    /// `exclusive`, or a SwapError when the calls in flight do not finish in `drainMillis`.
    func exclusiveSwap<R>(_ body: (inout Routing) throws(SwapError) -> R) throws(SwapError) -> R {
        let outcome = try lock.exclusive(within: Self.drainMillis) { () throws(SwapError) -> R in
            var copy = routing.withLock { $0 }
            let result = try body(&copy)
            routing.withLock { $0 = copy }
            return result
        }
        guard let outcome else {
            throw SwapError(slot: name, step: "waiting for the calls in flight", message: "they did not finish in \(Self.drainMillis / 1000) s (a hung call?)")
        }
        return outcome
    }

    /// Changes what needs no draining (grants, the canary's share) under the routing lock alone.
    func adjust(_ body: (inout Routing) -> Void) { routing.withLock { body(&$0) } }

    /// Runs `body` alone: no call is inside the slot's plugins and none starts until it returns.
    func exclusive<R, E: Error>(_ body: (inout Routing) throws(E) -> R) throws(E) -> R {
        try lock.exclusive { () throws(E) -> R in
            var copy = routing.withLock { $0 }
            let result = try body(&copy)
            routing.withLock { $0 = copy }
            return result
        }
    }

    /// 0–99, stable for an order id (FNV-1a), so canary routing never flips an order.
    public static func bucket(_ order: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in order.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % 100)
    }
}
