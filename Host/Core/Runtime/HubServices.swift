import HubJSON
import HubLoader
import Synchronization

/// The host services behind the ABI for every plugin but the bus: events go to the group
/// committer, subscriptions to the router, KV to the bus (namespaced by slot).
final class HubServices: HostServicesBackend {
    private let bus: PluginInstance
    private let committer: GroupCommitter
    private let router: EventRouter

    /// Other hub nodes share this bus: plugins are told their KV is shared (HUB_HOST_CAP_KV_SHARED).
    let kvShared: Bool

    init(bus: PluginInstance, committer: GroupCommitter, router: EventRouter) {
        self.bus = bus
        self.committer = committer
        self.router = router
        kvShared = bus.sharedByNodes
    }

    func publish(from slot: String, _ event: BusEvent) -> Int32 {
        var event = event
        guard !event.type.isEmpty else { return 1 }
        if BusEvent.isJSON(contentType: event.contentType) && !event.data.isEmpty && (try? JSONParser.parse(event.data)) == nil { return 1 }
        if event.source.isEmpty { event.source = "/orderhub/\(slot)" }
        if event.timeUnixNanos == 0 { event.timeUnixNanos = Clock.wallNanos() }
        if event.id.isEmpty && event.subject.isEmpty { event.id = "\(slot).\(Clock.wallNanos())" }
        committer.submit(CommitRequest(
            subject: event.subject, events: [event], precondition: event.subject.isEmpty ? .none : .existingLenient))
        return 0
    }

    func subscribe(_ context: HostContext, pattern: String) -> UInt64 { router.subscribe(context, pattern: pattern) }

    func dropSubscriptions(_ context: HostContext) { router.retire(context) }

    func unsubscribe(_ context: HostContext, id: UInt64) -> Int32 { router.unsubscribe(context, id: id) ? 0 : 8 }

    func kvGet(namespace: String, key: String) -> Result<(value: [UInt8], revision: UInt64)?, PluginCallError> {
        Result { () throws(PluginCallError) in try bus.kvGet(namespace: namespace, key: key) }
    }

    func kvPut(namespace: String, key: String, value: [UInt8], expectedRevision: UInt64) -> Result<UInt64, PluginCallError> {
        Result { () throws(PluginCallError) in
            try bus.kvPut(namespace: namespace, key: key, value: value, expectedRevision: expectedRevision)
        }
    }
}
