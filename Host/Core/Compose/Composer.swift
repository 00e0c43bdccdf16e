import HubJSON
import HubLoader
import Logging
import Synchronization

/// Changes a running hub: `apply` (a manifest's plan carried out live), canary promotion
/// and rollback, and rolling a slot back to the version it had before. One change at a
/// time; each either completes or leaves the hub as it was.
public final class Composer: Sendable {
    /// Why a change was not made; nothing changed.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The plan has refusals (or the manifest does not parse).
        case refused(CompositionPlan)
        case notFound(String)
        /// A step failed while carrying the plan out; what was done is undone.
        case failed(String)
        public var description: String {
            switch self {
            case .refused(let plan): return "the plan cannot be applied:\n" + plan.refusals.map(\.description).joined(separator: "\n")
            case .notFound(let message), .failed(let message): return message
            }
        }
    }

    /// What `apply` did, with how long each slot held its calls back while switching.
    public struct Report: Sendable {
        public let plan: CompositionPlan
        public let switchMillis: [(slot: String, millis: Double)]
        public let totalMillis: Double

        public var json: JSONValue {
            var members = plan.json.objectValue ?? []
            members.append(("applied", .bool(true)))
            members.append(("switch_ms", .object(switchMillis.map { ($0.slot, .number(String(format2: $0.millis))) })))
            members.append(("total_ms", .number(String(format2: totalMillis))))
            return .object(members)
        }
    }

    private let hub = Mutex<WeakHub>(WeakHub())
    /// One change at a time.
    private let serial = Mutex<Void>(())
    /// Earlier manifest entries per slot, newest last, for `rollback`.
    private let history = Mutex<[String: [Manifest.Plugin]]>([:])
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func attach(_ hub: Hub) { self.hub.withLock { $0.hub = hub } }
    func stop() { hub.withLock { $0.hub = nil } }

    private var target: Hub? { hub.withLock { $0.hub } }

    /// The changes `next` would make (nothing is changed).
    public func plan(_ next: Manifest) -> CompositionPlan {
        guard let hub = target else { return CompositionPlan(manifest: next, changes: [], refusals: []) }
        return serial.withLock { _ in Planner(running: hub.manifest, slots: hub.plugins, access: hub.access, logger: logger, trialCreate: true).plan(next) }
    }

    /// Plans `next` and carries it out on the running hub.
    public func apply(_ next: Manifest) throws(Failure) -> Report { try apply { _ throws(Failure) in next } }

    /// Plans the manifest `edit` makes of the running one, under the lock (so two admins
    /// never edit the same running manifest), and carries it out.
    private func apply(_ edit: (Manifest) throws(Failure) -> Manifest, then: () -> Void = {}) throws(Failure) -> Report {
        guard let hub = target else { throw .failed("the hub is stopping") }
        return try serial.withLock { _ throws(Failure) -> Report in
            let started = Clock.monotonicNanos()
            let next = try edit(hub.manifest)
            // Planning and creating the new instances (hashing, dlopen, a model or rules to
            // load) run on a low-priority thread, so orders in flight keep the CPU; only the
            // switch itself runs here.
            let prepared = LowPriority.run { [logger] () -> Result<(CompositionPlan, Apply.Created), Failure> in
                let planner = Planner(running: hub.manifest, slots: hub.plugins, access: hub.access, logger: logger, trialCreate: false)
                let plan = planner.plan(next)
                guard plan.canApply else { return .failure(.refused(plan)) }
                return Result { () throws(Failure) in (plan, try Apply.create(hub: hub, plan: plan, libraries: planner.opened)) }
            }
            let (plan, created) = try prepared.get()
            let report = try Apply(hub: hub, plan: plan, composer: self).run(created, since: started)
            then()
            return report
        }
    }

    /// Promotes the slot's canary to serve every order (state handed over).
    public func promote(_ slot: String) throws(Failure) -> Report {
        try change(slot) { running throws(Failure) in
            guard let canary = running.canary else { throw .notFound("slot '\(slot)' runs no canary") }
            var next = running
            next.library = canary.library
            next.sha256 = canary.sha256
            if let config = canary.config { next.config = config }
            next.canary = nil
            return next
        }
    }

    /// Ends the slot's canary: every order goes to the primary again.
    public func rollBackCanary(_ slot: String) throws(Failure) -> Report {
        try change(slot) { running throws(Failure) in
            guard running.canary != nil else { throw .notFound("slot '\(slot)' runs no canary") }
            var next = running
            next.canary = nil
            return next
        }
    }

    /// Swaps the slot back to the version it had before the last swap or promotion.
    public func rollBack(_ slot: String) throws(Failure) -> Report {
        try change(slot, rollingBack: true) { [self] running throws(Failure) in
            guard let previous = history.withLock({ $0[slot]?.last }) else {
                throw .notFound("slot '\(slot)' has no earlier version in this run to roll back to")
            }
            var next = previous
            next.canary = nil
            next.fields = running.fields
            next.fieldsPosition = running.fieldsPosition
            return next
        }
    }

    /// A change to one slot, made as a manifest: the running manifest with that slot edited.
    /// A rollback takes its own entry and the one it went back to off the history.
    private func change(_ slot: String, rollingBack: Bool = false, _ edit: @escaping (Manifest.Plugin) throws(Failure) -> Manifest.Plugin) throws(Failure) -> Report {
        try apply({ running throws(Failure) -> Manifest in
            guard let spec = running.plugin(slot), spec.kind != .stateBus else { throw .notFound("no slot '\(slot)' that can be changed live in this hub") }
            return running.replacing(try edit(spec))
        }, then: {
            if rollingBack { history.withLock { _ = $0[slot]?.popLast(); _ = $0[slot]?.popLast() } }
        })
    }

    func remember(_ spec: Manifest.Plugin) { history.withLock { $0[spec.slot, default: []].append(spec) } }
}

struct WeakHub: Sendable {
    weak var hub: Hub?
}

extension String {
    /// A figure rounded to hundredths, for reports and benchmark output.
    public init(format2 value: Double) {
        self = String((value * 100).rounded() / 100)
    }
}

extension Manifest {
    /// This manifest with one more slot (last).
    public func adding(_ spec: Manifest.Plugin) -> Manifest { with(plugins: plugins + [spec]) }

    /// This manifest with one slot's entry replaced.
    public func replacing(_ spec: Manifest.Plugin) -> Manifest { with(plugins: plugins.map { $0.slot == spec.slot ? spec : $0 }) }
}
