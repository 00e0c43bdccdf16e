import HubLoader

/// The host's own metrics: per-stage latency histograms and the counters operators watch.
public final class HostMetrics: Sendable {
    public let registry: MetricsRegistry
    private let stageIDs: [String: UInt32]
    private let ordersAccepted: UInt32
    private let ordersRejected: UInt32
    private let eventsAppended: UInt32
    private let commitBatches: UInt32
    private let commitSeconds: UInt32
    private let busErrors: UInt32
    private let pluginErrors: UInt32
    private let dispatchOutcomes: [String: UInt32]
    private let circuitsOpened: UInt32

    public static let stages = ["parse", "rules", "predictor", "commit", "intake_total", "dispatch"]

    public init(registry: MetricsRegistry) {
        self.registry = registry
        var stages: [String: UInt32] = [:]
        for stage in Self.stages {
            stages[stage] = registry.define("orderhub_stage_duration_seconds", kind: .histogram,
                                            help: "Time spent per pipeline stage", labels: "stage=\"\(stage)\"")
        }
        stageIDs = stages
        ordersAccepted = registry.define("orderhub_orders_accepted_total", kind: .counter, help: "Orders accepted at intake")
        ordersRejected = registry.define("orderhub_orders_rejected_total", kind: .counter, help: "Order submissions refused (4xx)")
        eventsAppended = registry.define("orderhub_events_appended_total", kind: .counter, help: "Events durably appended to the bus")
        commitBatches = registry.define("orderhub_commit_batches_total", kind: .counter, help: "Group commits (events/batches = mean group size)")
        commitSeconds = registry.define("orderhub_commit_duration_seconds", kind: .histogram, help: "Duration of one group commit")
        busErrors = registry.define("orderhub_bus_errors_total", kind: .counter, help: "Failed state-bus appends")
        pluginErrors = registry.define("orderhub_plugin_call_errors_total", kind: .counter, help: "Plugin calls that returned an error")
        var outcomes: [String: UInt32] = [:]
        for outcome in ["acknowledged", "retry", "failed"] {
            outcomes[outcome] = registry.define("orderhub_dispatch_total", kind: .counter, help: "Connector deliveries by outcome",
                                                labels: "outcome=\"\(outcome)\"")
        }
        dispatchOutcomes = outcomes
        circuitsOpened = registry.define("orderhub_connector_circuit_opened_total", kind: .counter,
                                         help: "Times a connector's circuit breaker opened after repeated failures")
    }

    public func stage(_ name: String, seconds: Double) { if let id = stageIDs[name] { registry.record(id, seconds) } }
    public func orderAccepted() { registry.record(ordersAccepted, 1) }
    public func orderRejected() { registry.record(ordersRejected, 1) }
    public func pluginError() { registry.record(pluginErrors, 1) }
    public func busError() { registry.record(busErrors, 1) }
    public func circuitOpened() { registry.record(circuitsOpened, 1) }
    public func dispatch(_ outcome: String) { if let id = dispatchOutcomes[outcome] { registry.record(id, 1) } }
    func commitBatch(events: Int, seconds: Double) {
        registry.record(eventsAppended, Double(events))
        registry.record(commitBatches, 1)
        registry.record(commitSeconds, seconds)
    }
    public var acceptedCount: Double { registry.value(ordersAccepted) }
}
