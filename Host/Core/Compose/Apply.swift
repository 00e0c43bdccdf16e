import Dispatch
import HubJSON
import HubLoader
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Carries out one plan on the running hub:
/// 1. create every new instance (a refusal here changes nothing; `create`, run at low priority);
/// 2. the steps that can fail (swaps, promotions, canary starts), each undone if a later one fails;
/// 3. the steps that cannot (loads, grants, pipeline, canary shares, removals, admin);
/// 4. retire what was replaced: no more events, calls in flight finished, destroyed (the
///    library stays mapped).
struct Apply {
    let hub: Hub
    let plan: CompositionPlan
    let composer: Composer

    private static let risky: Set<CompositionPlan.Action> = [.swap, .reconfigure, .canaryPromote, .canaryStart]

    /// The new instances a plan needs, made before anything changes.
    struct Created: Sendable {
        var fresh: [String: any PluginHandle] = [:]
        var canaries: [String: any PluginHandle] = [:]

        func discard(_ hub: Hub) {
            for instance in Array(fresh.values) + Array(canaries.values) {
                hub.router.retire(instance.context)
                instance.destroy()
            }
        }
    }

    /// 1. Create every new instance (from the libraries the planner opened); a refusal here
    /// destroys what was made and changes nothing.
    static func create(hub: Hub, plan: CompositionPlan, libraries: [String: PluginLibrary]) throws(Composer.Failure) -> Created {
        let next = plan.manifest
        let running = hub.manifest
        var made = Created()
        func make(_ spec: Manifest.Plugin) throws(LoadError) -> any PluginHandle {
            try PluginSet.make(spec, manifest: next, metrics: hub.metrics.registry, logger: hub.logger, backend: hub.services,
                               library: libraries[spec.library])
        }
        // A new slot's grant holds from its create on (it may subscribe there).
        for change in plan.changes where change.action == .load {
            if let spec = next.plugin(change.slot) { hub.router.setGrant(spec.fields.map(FieldGrant.init), slot: spec.slot) }
        }
        for change in plan.changes {
            guard let spec = next.plugin(change.slot) else { continue }
            // Paced: one instance, then a breath, so a burst of creates (libraries mapped,
            // models and rules loaded) does not crowd out the orders in flight.
            if !made.fresh.isEmpty || !made.canaries.isEmpty { usleep(25_000) }
            do throws(LoadError) {
                switch change.action {
                case .load, .swap, .reconfigure:
                    made.fresh[spec.slot] = try make(spec)
                    if change.action == .load, let canary = spec.canarySpec { made.canaries[spec.slot] = try make(canary) }
                case .canaryStart:
                    if made.canaries[spec.slot] == nil, running.plugin(spec.slot) != nil, let canary = spec.canarySpec {
                        made.canaries[spec.slot] = try make(canary)
                    }
                default: break
                }
            } catch {
                made.discard(hub)
                for change in plan.changes where change.action == .load { hub.router.setGrant(nil, slot: change.slot) }
                let place = error.code == .createFailed ? "plugins.\(spec.slot).config" : "plugins.\(spec.slot)"
                throw .failed("\(spec.position): \(place): \(error.message); nothing was changed")
            }
        }
        return made
    }

    /// Steps 2–4; `started` is when the apply began (planning and creating included).
    func run(_ created: Created, since started: UInt64) throws(Composer.Failure) -> Composer.Report {
        let next = plan.manifest
        let running = hub.manifest
        var fresh = created.fresh
        var canaries = created.canaries
        func discardFresh() { Created(fresh: fresh, canaries: canaries).discard(hub) }
        // 2. Steps that can fail, with their undo.
        var undo: [() -> Void] = []
        var retired: [any PluginHandle] = []
        // What `rollback` may go back to, kept only once the whole plan has gone through.
        var remembered: [Manifest.Plugin] = []
        var switched: [(slot: String, millis: Double)] = []
        // Tokens first: a tokens file that cannot be read now fails the apply before anything moved.
        let tokensBefore = hub.access.snapshot
        if plan.changes.contains(where: { $0.action == .admin }) {
            do throws(AccessControl.FileError) { try hub.access.reload(next.admin) } catch {
                discardFresh()
                throw .failed("admin tokens: \(error); nothing was changed")
            }
        }
        // A new slot with a canary is made whole (canary started) before it is added.
        var prepared: [String: LiveSlot] = [:]
        for change in plan.changes where change.action == .load {
            guard let spec = next.plugin(change.slot), let instance = fresh.removeValue(forKey: spec.slot) else { continue }
            let slot = LiveSlot(spec: spec, instance: instance)
            if let canary = canaries.removeValue(forKey: spec.slot), let canarySpec = spec.canarySpec {
                do throws(SwapError) { _ = try slot.startCanary(canary, spec: canarySpec, percent: spec.canary?.percent ?? 0) } catch {
                    for made in [instance, canary] + prepared.values.flatMap(\.instances) {
                        hub.router.retire(made.context)
                        made.destroy()
                    }
                    discardFresh()
                    throw .failed("plugins.\(spec.slot).canary: \(error); nothing was changed")
                }
            }
            prepared[spec.slot] = slot
        }
        func discardPrepared() {
            for made in prepared.values.flatMap(\.instances) {
                hub.router.retire(made.context)
                made.destroy()
            }
        }
        for change in plan.changes where Self.risky.contains(change.action) && running.plugin(change.slot) != nil {
            guard let spec = next.plugin(change.slot), let slot = hub.plugins.slot(change.slot) else { continue }
            let before = slot.current
            let began = Clock.monotonicNanos()
            // The instance this step switches in: destroyed if the step fails.
            var incoming: (any PluginHandle)?
            do throws(SwapError) {
                switch change.action {
                case .swap, .reconfigure:
                    guard let instance = fresh.removeValue(forKey: spec.slot) else { continue }
                    incoming = instance
                    var primarySpec = spec
                    primarySpec.canary = before.spec.canary
                    let old = try slot.swap(to: instance, spec: primarySpec)
                    retired.append(old)
                    remembered.append(before.spec)
                    undo.append { [hub] in
                        // Back to the earlier version in a fresh instance that takes the new one's
                        // state (a fresh instance imports exactly once); failing that, the old
                        // instance serves on without what the new one gathered meanwhile.
                        do throws(LoadError) {
                            let back = try PluginSet.make(before.spec, manifest: running, metrics: hub.metrics.registry, logger: hub.logger,
                                                          backend: hub.services)
                            do throws(SwapError) { _ = try slot.swap(to: back, spec: before.spec) } catch {
                                hub.logger.warning("undo of the swap of \(slot.name): \(error); the earlier version serves without the state gathered since")
                                hub.router.retire(back.context)
                                back.destroy()
                                slot.exclusive { $0 = before }
                                return
                            }
                            hub.router.retire(old.context)
                            old.destroy()
                        } catch {
                            hub.logger.warning("undo of the swap of \(slot.name): \(error); the earlier version serves without the state gathered since")
                            slot.exclusive { $0 = before }
                        }
                        hub.router.retire(instance.context)
                        instance.destroy()
                    }
                case .canaryPromote:
                    let old = try slot.promoteCanary()
                    retired.append(old)
                    remembered.append(before.spec)
                    undo.append { slot.exclusive { $0 = before } }
                case .canaryStart:
                    guard let canary = canaries.removeValue(forKey: spec.slot), let canarySpec = spec.canarySpec else { continue }
                    incoming = canary
                    let previous = try slot.startCanary(canary, spec: canarySpec, percent: spec.canary?.percent ?? 0)
                    if let previous { retired.append(previous) }
                    slot.update(spec: withCanary(slot.current.spec, spec.canary))
                    undo.append { [hub] in
                        slot.exclusive { $0 = before }
                        hub.router.retire(canary.context)
                        canary.destroy()
                    }
                default: continue
                }
            } catch {
                if let incoming {
                    hub.router.retire(incoming.context)
                    incoming.destroy()
                }
                for step in undo.reversed() { step() }
                discardFresh()
                discardPrepared()
                hub.access.restore(tokensBefore)
                throw .failed("\(error); every slot switched before it was switched back")
            }
            switched.append((slot.name, Double(Clock.monotonicNanos() - began) / 1e6))
        }
        // 3. Steps that cannot fail.
        var removedSlots: [String] = []
        for change in plan.changes {
            let spec = next.plugin(change.slot)
            switch change.action {
            case .load:
                guard let spec, let slot = prepared[spec.slot] else { continue }
                hub.plugins.add(slot)
                hub.router.setGrant(spec.fields.map(FieldGrant.init), slot: spec.slot)
                if spec.kind == .connector { addConnector(spec) }
            case .regrant:
                guard let spec, let slot = hub.plugins.slot(spec.slot) else { continue }
                var updated = slot.current.spec
                updated.fields = spec.fields
                updated.fieldsPosition = spec.fieldsPosition
                slot.update(spec: updated)
                hub.router.setGrant(spec.fields.map(FieldGrant.init), slot: spec.slot)
            case .canaryPercent:
                guard let spec, let slot = hub.plugins.slot(spec.slot), let percent = spec.canary?.percent else { continue }
                slot.setCanaryPercent(percent)
                slot.update(spec: withCanary(slot.current.spec, spec.canary))
            case .canaryRollback:
                guard let slot = hub.plugins.slot(change.slot) else { continue }
                if let canary = slot.rollBackCanary() { retired.append(canary) }
            case .remove:
                removedSlots.append(change.slot)
            case .admin:
                break  // read again first, above
            default: break
            }
        }
        // The pipeline goes before removals, so no new order reaches a slot being removed.
        hub.orders.setPipeline(next.pipeline.compactMap { hub.plugins.slot($0) })
        hub.orders.setDispatchEnabled(next.connectors.contains { $0.subscribes.contains(EventTypes.dispatchRequested) })
        var removed: [any PluginHandle] = []
        for name in removedSlots {
            guard let slot = hub.plugins.slot(name) else { continue }
            hub.plugins.remove(name)
            if slot.kind == .connector { removeConnector(name) }
            removed.append(contentsOf: slot.instances)
        }
        refreshReconcilers(next)
        hub.composition.withLock { $0.manifest = next }
        for spec in remembered { composer.remember(spec) }
        // 4. Retire. A removed slot's instances wait a few seconds: an order already in the
        // pipeline when it changed may still be on its way to them.
        for instance in retired {
            hub.router.retire(instance.context)
            instance.destroy()
        }
        if !removed.isEmpty {
            let router = hub.router
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(5)) { [removed] in
                for instance in removed {
                    router.retire(instance.context)
                    instance.destroy()
                }
            }
        }
        let total = Double(Clock.monotonicNanos() - started) / 1e6
        composer.logger.info("applied \(plan.changes.count) change(s) from \(next.path) in \(String(format2: total)) ms")
        return Composer.Report(plan: plan, switchMillis: switched, totalMillis: total)
    }

    private func withCanary(_ spec: Manifest.Plugin, _ canary: Manifest.Canary?) -> Manifest.Plugin {
        var copy = spec
        copy.canary = canary
        return copy
    }

    /// A connector added live starts at the log's tail (it is not sent the past), saved at
    /// once so a crash before its first delivery does not skip what comes next.
    private func addConnector(_ spec: Manifest.Plugin) {
        guard hub.options.startDispatchers else { return }
        let tail = hub.committer.tailOffset
        do throws(PluginCallError) { try OutboxRecovery(bus: hub.plugins.bus, logger: hub.logger).saveWatermark(spec.slot, tail) } catch {
            hub.logger.warning("connector \(spec.slot): could not save its starting watermark: \(error)")
        }
        guard let dispatcher = hub.makeDispatcher(spec, startOffset: tail, owed: []) else { return }
        hub.composition.withLock { $0.dispatchers.append(dispatcher) }
    }

    private func removeConnector(_ name: String) {
        let (dispatcher, reconciler) = hub.composition.withLock { c in
            (c.dispatchers.first { $0.connector.slot == name }, c.reconcilers.first { $0.connector.slot == name })
        }
        reconciler?.stop()
        if let dispatcher {
            hub.router.remove(dispatcher)
            if !dispatcher.stop(graceNanos: 5_000_000_000) {
                hub.logger.warning("connector \(name) removed while a delivery was still in flight after 5 s")
            }
        }
        hub.composition.withLock { c in
            c.dispatchers.removeAll { $0.connector.slot == name }
            c.reconcilers.removeAll { $0.connector.slot == name }
        }
    }

    /// A connector swapped for a version that answers status queries gets a reconciler; one
    /// swapped for a version that does not loses it.
    private func refreshReconcilers(_ next: Manifest) {
        guard hub.options.startDispatchers else { return }
        for spec in next.connectors {
            let has = hub.reconciler(spec.slot)
            let wants = hub.plugins.slot(spec.slot)?.primary.answersStatusQueries == true
            if wants, has == nil, let made = hub.makeReconciler(spec) {
                hub.composition.withLock { $0.reconcilers.append(made) }
                made.start()
            } else if !wants, let has {
                has.stop()
                hub.composition.withLock { $0.reconcilers.removeAll { $0 === has } }
            }
        }
    }
}
