/// The order lifecycle as data: every allowed (from, to) pair with what it means.
/// A transition not in this table is refused. Served at GET /v1/lifecycle and written out
/// in docs/architecture.md.
public enum OrderState: String, Sendable, CaseIterable {
    case received, accepted, onHold = "on_hold", released, dispatched, acknowledged
    case picked, packed, shipped, delivered, canceled, rejected

    public var isTerminal: Bool { self == .delivered || self == .canceled || self == .rejected }
}

public struct Transition: Sendable, Equatable {
    public let from: OrderState
    public let to: OrderState
    /// Who normally takes it and why.
    public let meaning: String
}

public enum Lifecycle {
    public static let transitions: [Transition] = [
        .init(from: .received, to: .accepted, meaning: "intake validated the order"),
        .init(from: .received, to: .rejected, meaning: "intake refused the order"),
        .init(from: .accepted, to: .onHold, meaning: "a rule or a person holds the order"),
        .init(from: .accepted, to: .released, meaning: "no hold: free to fulfil"),
        .init(from: .accepted, to: .canceled, meaning: "canceled before release"),
        .init(from: .onHold, to: .released, meaning: "the hold was resolved"),
        .init(from: .onHold, to: .canceled, meaning: "canceled while held"),
        .init(from: .onHold, to: .rejected, meaning: "the hold was rejected (e.g. fraud)"),
        .init(from: .released, to: .onHold, meaning: "held again before dispatch"),
        .init(from: .released, to: .dispatched, meaning: "dispatch to the warehouse was enqueued"),
        .init(from: .released, to: .canceled, meaning: "canceled before dispatch"),
        .init(from: .dispatched, to: .acknowledged, meaning: "the warehouse accepted the instruction"),
        .init(from: .dispatched, to: .released, meaning: "dispatch failed for good; back to released for a person"),
        .init(from: .dispatched, to: .canceled, meaning: "canceled while dispatching"),
        .init(from: .acknowledged, to: .picked, meaning: "warehouse picked the items"),
        .init(from: .acknowledged, to: .canceled, meaning: "canceled before picking"),
        .init(from: .picked, to: .packed, meaning: "warehouse packed the parcel"),
        .init(from: .packed, to: .shipped, meaning: "carrier took the parcel"),
        .init(from: .shipped, to: .delivered, meaning: "carrier delivered"),
    ]

    public static func allows(_ from: OrderState, _ to: OrderState) -> Bool {
        transitions.contains { $0.from == from && $0.to == to }
    }

    /// The fulfilment chain in order. A status the warehouse or carrier reports may skip steps
    /// (a lost callback) but never moves an order back down this chain.
    public static let fulfillmentChain: [OrderState] = [.released, .dispatched, .acknowledged, .picked, .packed, .shipped, .delivered]

    /// True when `to` is further along the fulfilment chain than `from`.
    public static func isForward(_ from: OrderState, _ to: OrderState) -> Bool {
        guard let a = fulfillmentChain.firstIndex(of: from), let b = fulfillmentChain.firstIndex(of: to) else { return false }
        return b > a
    }

    /// What an external system's report may do to an order: move it along the fulfilment chain,
    /// or cancel it where the lifecycle allows a cancel. Nothing else (never back, never a hold).
    public static func reportable(_ from: OrderState, _ to: OrderState) -> Bool {
        isForward(from, to) || (to == .canceled && allows(from, to))
    }

    public static func next(from state: OrderState) -> [Transition] { transitions.filter { $0.from == state } }

    /// States only the hub records (a connector's acknowledgement and what follows it arrive
    /// as events, not as requests); the API refuses them as targets.
    public static let recordedByHub: Set<OrderState> = [.acknowledged, .picked, .packed, .shipped, .delivered]

    /// What a person or client may ask for through the API from `state`.
    public static func requestable(from state: OrderState) -> [Transition] {
        next(from: state).filter { !recordedByHub.contains($0.to) }
    }
}
