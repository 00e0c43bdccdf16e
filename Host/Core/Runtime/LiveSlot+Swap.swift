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
        try exclusiveSwap { (routing: inout Routing) throws(SwapError) -> any PluginHandle in
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
        try exclusiveSwap { (routing: inout Routing) throws(SwapError) -> (any PluginHandle)? in
            try copyState(from: routing.primary, to: canary)
            let previous = routing.canary
            routing.canary = canary
            routing.canarySpec = spec
            routing.percent = percent
            return previous
        }
    }

    func setCanaryPercent(_ percent: Int) { adjust { $0.percent = percent } }

    /// Promotes the canary: the primary's state is handed to it (merged with what it gathered),
    /// then it serves every order. Returns the retired primary.
    func promoteCanary(quiesceMillis: UInt64 = 5_000) throws(SwapError) -> any PluginHandle {
        try exclusiveSwap { (routing: inout Routing) throws(SwapError) -> any PluginHandle in
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
            // Quiesced, so its last save at destroy does not put its partial windows over the
            // primary's (they share the slot's KV).
            try? canary?.quiesce(deadlineMonotonicNanos: Clock.monotonicNanos() + 1_000_000_000)
            return canary
        }
    }

    /// The slot's manifest entry changed in ways that need no new instance (grants).
    func update(spec: Manifest.Plugin) { adjust { $0.spec = spec } }

    private func hand(from old: any PluginHandle, to next: any PluginHandle, quiesceMillis: UInt64) throws(SwapError) {
        do throws(PluginCallError) {
            try old.quiesce(deadlineMonotonicNanos: Clock.monotonicNanos() + quiesceMillis * 1_000_000)
        } catch {
            throw SwapError(slot: name, step: "quiesce of \(old.descriptor.id) \(old.descriptor.version)", message: error.message)
        }
        try copyState(from: old, to: next)
    }

    private func copyState(from old: any PluginHandle, to next: any PluginHandle) throws(SwapError) {
        // Asked before exporting: an export may move state out of the old instance (the rules
        // engine's promotion leases), so it is only done when the new one can take it.
        if old.supportsStateExport && !next.supportsStateExport {
            throw SwapError(slot: name, step: "state hand-over", message: "\(old.descriptor.id) \(old.descriptor.version) hands over state but \(next.descriptor.id) \(next.descriptor.version) cannot import it (no HUB_CAP_STATE_EXPORT)")
        }
        let exported: (bytes: [UInt8], schema: UInt32)?
        do throws(PluginCallError) { exported = try old.exportState() } catch {
            throw SwapError(slot: name, step: "export_state of \(old.descriptor.id) \(old.descriptor.version)", message: error.message)
        }
        // A plugin that declares state but has none this time hands over nothing.
        guard let exported, !(exported.bytes.isEmpty && exported.schema == 0) else { return }
        do throws(PluginCallError) { try next.importState(exported.bytes, schema: exported.schema) } catch {
            // The old instance serves on: what the export moved out goes back to it.
            do throws(PluginCallError) { try old.importState(exported.bytes, schema: exported.schema) } catch let back {
                throw SwapError(slot: name, step: "import_state into \(next.descriptor.id) \(next.descriptor.version)",
                                message: "\(error.message); giving the state back to \(old.descriptor.id) \(old.descriptor.version) failed too (\(back.message)), so what it held on lease is lost until its next claim")
            }
            throw SwapError(slot: name, step: "import_state into \(next.descriptor.id) \(next.descriptor.version)", message: error.message)
        }
    }
}
