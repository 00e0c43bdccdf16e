import HubJSON
import HubLoader

extension OrderService {
    /// The order's current state and timeline as the API shows it; nil if unknown.
    public func orderDocument(_ id: String) async throws(PluginCallError) -> [UInt8]? {
        try await BlockingLane.run { Result { () throws(PluginCallError) in try self.orderDocumentNow(id) } }.get()
    }

    func orderDocumentNow(_ id: String) throws(PluginCallError) -> [UInt8]? {
        guard let events = try plugins.bus.timeline(id), let state = try committer.state(of: id) else { return nil }
        let parsed = (try? JSONParser.parse(events).arrayValue) ?? []
        var writer = JSONWriter(capacity: events.count + 512)
        writer.object { o in
            o.field("id", id)
            o.field("state", state.state)
            o.field("sequence", state.sequence)
            o.array("allowed_transitions") { a in
                for t in requestable(from: state.state) { a.element(t.to.rawValue) }
            }
            // What judged the order and why: each rules answer (ruleset versions, fired rules with
            // the values that matched and what they did) and each prediction, latest first.
            o.array("rules") { a in
                for event in parsed.reversed() where event["type"]?.stringValue == EventTypes.rulesEvaluated {
                    a.element(event["data"] ?? .null)
                }
            }
            // Each predictor's answer: score, quadrant, the features that drove it (and how they
            // were computed), and a suggestion for the orders a person should act on.
            o.array("predictions") { a in
                for event in parsed.reversed() where event["type"]?.stringValue == EventTypes.riskScored {
                    a.element(.object([("slot", event["producer"] ?? .null)] + (event["data"]?.objectValue ?? [])))
                }
            }
            o.array("timeline") { a in
                for event in parsed {
                    a.object { e in
                        e.field("sequence", Int64(event["sequence"]?.stringValue ?? "") ?? 0)
                        e.field("time", event["time"] ?? .null)
                        e.field("type", event["type"] ?? .null)
                        e.field("producer", event["producer"] ?? .null)
                        if let state = event["orderstate"] { e.field("state", state) }
                        e.field("event_id", event["id"] ?? .null)
                        e.field("data", event["data"] ?? .null)
                    }
                }
            }
        }
        return writer.bytes
    }

    /// The order's events as structured CloudEvents 1.0 (a JSON array); nil if unknown.
    public func cloudEvents(_ id: String) async throws(PluginCallError) -> [UInt8]? {
        try await BlockingLane.run { Result { () throws(PluginCallError) in try self.plugins.bus.timeline(id) } }.get()
    }

    /// Current state and the transitions the lifecycle allows from it; nil if unknown.
    public func allowedTransitions(_ id: String) async throws(PluginCallError) -> (state: String, allowed: [Transition])? {
        let lookup = await BlockingLane.run { Result { () throws(PluginCallError) in try self.committer.state(of: id) } }
        guard let entry = try lookup.get() else { return nil }
        return (entry.state, requestable(from: entry.state))
    }

    /// What a client may ask for from `state` in this hub (no `dispatched` without a connector).
    func requestable(from state: String) -> [Transition] {
        (OrderState(rawValue: state).map(Lifecycle.requestable) ?? []).filter { dispatchEnabled || $0.to != .dispatched }
    }

    /// Moves an order to `target` if the lifecycle allows it. Releasing an order (from a hold)
    /// sends it on to dispatch, as intake would have.
    public func transition(_ id: String, to target: String, reason: String, actor: String) async -> TransitionOutcome {
        guard let to = OrderState(rawValue: target) else {
            return .invalid(FieldProblem(field: "to", message: "'\(target)' is not a state (known: \(OrderState.allCases.map(\.rawValue).joined(separator: ", ")))"))
        }
        // What the warehouse reports is recorded from its events, not requested over the API.
        if Lifecycle.recordedByHub.contains(to) {
            return .invalid(FieldProblem(field: "to", message: "'\(target)' is recorded by the hub from the connector's reports; it cannot be requested"))
        }
        if to == .dispatched && !dispatchEnabled {
            return .invalid(FieldProblem(field: "to", message: "no connector in this hub subscribes to dispatch requests"))
        }
        let lookup = await BlockingLane.run { Result { () throws(PluginCallError) in try self.committer.state(of: id) } }
        let current: OrderStateCache.Entry
        switch lookup {
        case .success(let entry?): current = entry
        case .success(nil): return .notFound
        case .failure(let error): return .unavailable("the state bus could not answer: \(error.message)")
        }
        let allowed = requestable(from: current.state)
        guard allowed.contains(where: { $0.to == to }) else { return .refused(from: current.state, allowed: allowed.map(\.to.rawValue)) }
        var data = JSONWriter()
        data.object { o in
            o.field("from", current.state)
            o.field("to", to.rawValue)
            o.field("reason", reason)
            o.field("actor", actor)
        }
        // The status change (with the person's reason) is recorded first in every case.
        var events = [BusEvent(id: "", source: "/orderhub/api", type: EventTypes.statusChanged, subject: id, data: data.bytes,
                               producer: "api", timeUnixNanos: Clock.wallNanos(), sequence: 0, state: to.rawValue)]
        // Released by a person, or "dispatch again": the hub sends the order as received,
        // under a fresh downstream idempotency key, in the same commit.
        if to == .dispatched || (to == .released && dispatchEnabled) {
            guard let request = await BlockingLane.run({ try? self.dispatchRequest(for: id) }) else {
                return .unavailable("the order's events could not be read to build its dispatch request; nothing was changed")
            }
            events.append(request)
        }
        switch await committer.commit(CommitRequest(subject: id, events: events, precondition: .existing)) {
        case .success(let result): return .done(state: result.state, sequence: result.lastSequence)
        case .failure(.transitionRefused(_, let from, _)):
            return .refused(from: from, allowed: requestable(from: from).map(\.to.rawValue))
        case .failure(.orderNotFound): return .notFound
        case .failure(let error): return .unavailable("\(error)")
        }
    }

    /// A dispatch request rebuilt from the timeline (for release after a hold, or dispatch
    /// again after a failed one): the same instruction intake would have sent, new key.
    func dispatchRequest(for id: String) throws -> BusEvent? {
        guard let events = try plugins.bus.timeline(id), let list = try JSONParser.parse(events).arrayValue,
            let instruction = DispatchInstruction(orderID: id, timeline: list)
        else { return nil }
        let attempts = list.filter { $0["type"]?.stringValue == EventTypes.dispatchRequested }.count
        return instruction.event(id: "\(id).dispatch\(attempts == 0 ? "" : ".\(attempts + 1)")", producer: "api")
    }
}
