import HubLoader

/// Why a swap did not happen; the slot still serves the version it had.
public struct SwapError: Error, Sendable, CustomStringConvertible {
    public let slot: String
    public let step: String
    public let message: String
    public var description: String { "slot '\(slot)': \(step) failed: \(message); the slot still serves the version it had" }
}

extension LiveSlot {
    /// The hot-swap protocol (docs/operations.md): with every new call held back and the calls
    /// in flight finished, quiesce the old version, export its state, import it into the new
    /// one, switch. Returns the retired version, for the caller to destroy once it has stopped
    /// receiving events. Nothing changes when a step fails.
    func swap(to next: any PluginHandle, spec: Manifest.Plugin, quiesceMillis: UInt64 = 5_000) throws(SwapError) -> any PluginHandle {
        try exclusive { (routing: inout Routing) throws(SwapError) -> any PluginHandle in
            try hand(from: routing.primary, to: next, quiesceMillis: quiesceMillis)
            let old = routing.primary
            routing.primary = next
            routing.spec = spec
            return old
        }
    }

    /// Starts a canary: the new version gets a copy of the primary's state, then `percent` of
    /// orders. Replaces a canary already running (returned, to retire).
    func startCanary(_ canary: any PluginHandle, spec: Manifest.Plugin, percent: Int) throws(SwapError) -> (any PluginHandle)? {
        try exclusive { (routing: inout Routing) throws(SwapError) -> (any PluginHandle)? in
            try copyState(from: routing.primary, to: canary)
            let previous = routing.canary
            routing.canary = canary
            routing.canarySpec = spec
            routing.percent = percent
            return previous
        }
    }

    func setCanaryPercent(_ percent: Int) { exclusive { (routing: inout Routing) in routing.percent = percent } }

    /// Promotes the canary: the primary's state is handed to it (merged with what it gathered),
    /// then it serves every order. Returns the retired primary.
    func promoteCanary(quiesceMillis: UInt64 = 5_000) throws(SwapError) -> any PluginHandle {
        try exclusive { (routing: inout Routing) throws(SwapError) -> any PluginHandle in
            guard let canary = routing.canary, let canarySpec = routing.canarySpec else {
                throw SwapError(slot: name, step: "promote", message: "no canary is running")
            }
            try hand(from: routing.primary, to: canary, quiesceMillis: quiesceMillis)
            let old = routing.primary
            var spec = canarySpec
            spec.canary = nil
            routing = Routing(primary: canary, spec: spec)
            return old
        }
    }

    /// Ends the canary: every order goes to the primary again. Returns the retired canary.
    func rollBackCanary() -> (any PluginHandle)? {
        exclusive { (routing: inout Routing) -> (any PluginHandle)? in
            let canary = routing.canary
            routing.canary = nil
            routing.canarySpec = nil
            routing.percent = 0
            routing.spec.canary = nil
            return canary
        }
    }

    /// The slot's manifest entry changed in ways that need no new instance (grants).
    func update(spec: Manifest.Plugin) { exclusive { (routing: inout Routing) in routing.spec = spec } }

    private func hand(from old: any PluginHandle, to next: any PluginHandle, quiesceMillis: UInt64) throws(SwapError) {
        do throws(PluginCallError) {
            try old.quiesce(deadlineMonotonicNanos: Clock.monotonicNanos() + quiesceMillis * 1_000_000)
        } catch {
            throw SwapError(slot: name, step: "quiesce of \(old.descriptor.id) \(old.descriptor.version)", message: error.message)
        }
        try copyState(from: old, to: next)
    }

    private func copyState(from old: any PluginHandle, to next: any PluginHandle) throws(SwapError) {
        let exported: (bytes: [UInt8], schema: UInt32)?
        do throws(PluginCallError) { exported = try old.exportState() } catch {
            throw SwapError(slot: name, step: "export_state of \(old.descriptor.id) \(old.descriptor.version)", message: error.message)
        }
        // A plugin that declares state but has none this time hands over nothing.
        guard let exported, !(exported.bytes.isEmpty && exported.schema == 0) else { return }
        guard next.supportsStateExport else {
            throw SwapError(slot: name, step: "state hand-over", message: "\(old.descriptor.id) \(old.descriptor.version) exports state (schema \(exported.schema)) but \(next.descriptor.id) \(next.descriptor.version) cannot import it (no HUB_CAP_STATE_EXPORT)")
        }
        do throws(PluginCallError) { try next.importState(exported.bytes, schema: exported.schema) } catch {
            throw SwapError(slot: name, step: "import_state into \(next.descriptor.id) \(next.descriptor.version)", message: error.message)
        }
    }
}
