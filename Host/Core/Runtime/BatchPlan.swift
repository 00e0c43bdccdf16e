import HubLoader

/// Checks one group of commit requests against the lifecycle and numbers their events,
/// tracking the states the group itself changes (two steps of one order in one group).
struct BatchPlan {
    let states: OrderStateCache
    private(set) var events: [BusEvent] = []
    private(set) var records: [IdempotencyRecord] = []
    private var pendingStates: [String: OrderStateCache.Entry] = [:]
    private var newOrders: Set<String> = []
    private var keys: Set<String> = []

    init(states: OrderStateCache) { self.states = states }

    struct Planned {
        let stateBefore: String
        let state: String
        let lastSequence: UInt64
        let events: [BusEvent]
    }

    mutating func add(_ request: CommitRequest) -> Result<Planned, CommitError> {
        let subject = request.subject
        var current: OrderStateCache.Entry?
        switch request.precondition {
        case .none: break
        // Ids of new orders are fresh (OrderID), so only this group can know them yet.
        case .newOrder: current = pendingStates[subject]
        case .existing, .existingLenient, .forward:
            do throws(PluginCallError) {
                if let pending = pendingStates[subject] { current = pending } else { current = try states.entry(subject) }
            } catch {
                return .failure(.bus(error))
            }
        }
        switch request.precondition {
        case .newOrder: if current != nil || newOrders.contains(subject) { return .failure(.orderExists(subject)) }
        case .existing, .existingLenient, .forward: if current == nil { return .failure(.orderNotFound(subject)) }
        case .none: break
        }
        if let record = request.record {
            guard keys.insert(record.key).inserted else { return .failure(.duplicateIdempotencyKey(record.key)) }
        }
        var state = current?.state ?? ""
        var sequence = current?.sequence ?? 0
        var numbered: [BusEvent] = []
        for var event in request.events {
            if !event.state.isEmpty && !state.isEmpty && event.state != state {
                let allowed = OrderState(rawValue: state).flatMap { from in
                    OrderState(rawValue: event.state).map { request.precondition == .forward ? Lifecycle.reportable(from, $0) : Lifecycle.allows(from, $0) }
                } ?? false
                if !allowed {
                    if request.precondition == .existingLenient || request.precondition == .forward { event.state = "" } else {
                        return .failure(.transitionRefused(order: subject, from: state, to: event.state))
                    }
                }
            }
            if request.precondition != .none {
                sequence += 1
                event.sequence = sequence
                if event.id.isEmpty { event.id = "\(subject).\(sequence)" }
            }
            if !event.state.isEmpty { state = event.state }
            numbered.append(event)
        }
        if request.precondition == .newOrder { newOrders.insert(subject) }
        if request.precondition != .none { pendingStates[subject] = OrderStateCache.Entry(state: state, sequence: sequence) }
        events.append(contentsOf: numbered)
        if let record = request.record { records.append(record) }
        return .success(Planned(stateBefore: current?.state ?? "", state: state, lastSequence: sequence, events: numbered))
    }

    /// After a durable append: make the group's states the live ones.
    func apply() {
        for (order, entry) in pendingStates { states.set(order, entry) }
    }
}
