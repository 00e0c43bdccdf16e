/// CloudEvents `type` values the hub itself produces (reverse-DNS, versioned).
public enum EventTypes {
    public static let received = "com.orderhub.order.received.v1"
    public static let accepted = "com.orderhub.order.accepted.v1"
    public static let rulesEvaluated = "com.orderhub.rules.evaluated.v1"
    public static let riskScored = "com.orderhub.risk.scored.v1"
    public static let statusChanged = "com.orderhub.order.status_changed.v1"
    public static let dispatchRequested = "com.orderhub.dispatch.requested.v1"
    public static let dispatchAttempted = "com.orderhub.dispatch.attempt_failed.v1"
    public static let dispatchAcknowledged = "com.orderhub.dispatch.acknowledged.v1"
    public static let dispatchFailed = "com.orderhub.dispatch.failed.v1"
    public static let dispatchReplayed = "com.orderhub.dispatch.replayed.v1"
    public static let pluginFailed = "com.orderhub.plugin.call_failed.v1"
    /// A status the external system reported in a callback (signed, deduplicated).
    public static let fulfillmentStatus = "com.orderhub.fulfillment.status_reported.v1"
    /// The reconciler found the system ahead of the hub and moved the order (before, after).
    public static let fulfillmentRepaired = "com.orderhub.fulfillment.repaired.v1"
    /// The reconciler found a difference it cannot repair (the hub is ahead of the system).
    public static let fulfillmentDrift = "com.orderhub.fulfillment.drift_detected.v1"

    /// Types a connector may subscribe to in a manifest.
    public static let deliverable = [dispatchRequested, statusChanged]
}
