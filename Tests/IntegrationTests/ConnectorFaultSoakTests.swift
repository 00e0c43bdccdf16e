import Foundation
import HubDevTools
import Testing

/// The proof: 10,000 orders through a warehouse that fails 20% of requests (5xx, 429
/// with Retry-After, timeouts, resets, and resets/timeouts after the effect was applied) and
/// mangles its callbacks (lost, duplicated, out of order), with the hub killed -9 halfway.
/// Every order reaches the warehouse exactly once, none is dead-lettered, and every order
/// ends `shipped` in the hub (lost callbacks found by reconciliation).
@Suite struct ConnectorFaultSoakTests {
    static let total = 10_000

    @Test(.timeLimit(.minutes(10)))
    func tenThousandOrdersThroughTwentyPercentFaultsAndAKill9() async throws {
        let harness = VendorHarness(configuration: .init(stepMillis: 10), name: "soak")
        let vendor = harness.vendor
        try await vendor.start()
        defer { Task { await vendor.stop() } }
        var options = VendorHarness.Options()
        options.maxAttempts = 40
        options.concurrency = 16
        options.circuit = "{failures: 10, open_ms: 100}"
        options.reconcile = "{interval_ms: 1000, stale_after_ms: 5000, batch: 1000}"
        options.timeoutMillis = 300
        try harness.writeManifest(options)
        vendor.setRandomFaults(rate: 0.2, kinds: FakeVendor.Fault.all(timeoutMillis: 600), seed: 7)
        vendor.setCallbackFaults(.init(lost: 0.05, duplicate: 0.05, reorder: 0.05, seed: 7))

        let first = ChildProcess(["run", "--manifest", harness.manifestPath, "--listen", "127.0.0.1:0"])
        try first.start()
        let base = try #require(first.waitForServing(), "hub did not start: \(first.stderr)")
        vendor.setCallback(.wms, url: base + "/v1/connectors/wms/events", secret: "wms-secret", mode: .binary)
        let ids = AckedOrders()
        await submit(base, range: 0..<(Self.total / 2), into: ids)
        first.kill9()   // mid-flight: deliveries queued, retrying, or sent but not yet recorded

        let hostPort = String(base.dropFirst("http://".count))
        let second = ChildProcess(["run", "--manifest", harness.manifestPath, "--listen", hostPort])
        try second.start()
        defer { second.kill9() }
        let restarted = try #require(second.waitForServing(), "hub did not restart: \(second.stderr)")
        await submit(restarted, range: (Self.total / 2)..<Self.total, into: ids)
        #expect(ids.count == Self.total, "every order was acknowledged (201)")

        let reached = await HTTP.eventually(300) { vendor.ledger().effects[.wms]?.count ?? 0 >= Self.total }
        let ledger = vendor.ledger()
        #expect(reached, "orders at the warehouse: \(ledger.effects[.wms]?.count ?? 0) of \(Self.total)")
        let effects = ledger.effects[.wms] ?? [:]
        let missing = ids.all.filter { effects[$0] == nil }
        #expect(missing.isEmpty, "lost: \(missing.count), e.g. \(missing.prefix(3))")
        #expect(effects.values.allSatisfy { $0 == 1 }, "duplicated effects: \(ledger.duplicatedEffects)")
        #expect(ledger.duplicateReferenceAttempts == 0, "a second dispatch under another key reached the warehouse")

        // Every order ends shipped in the hub: callbacks, or the reconciler for lost ones.
        var pending = ids.all
        let deadline = Date().addingTimeInterval(300)
        while !pending.isEmpty && Date() < deadline {
            pending = await notShipped(restarted, pending)
            if !pending.isEmpty { try await Task.sleep(for: .seconds(1)) }
        }
        #expect(pending.isEmpty, "\(pending.count) orders not shipped in the hub, e.g. \(pending.prefix(3))")
        let dead = try await HTTP.send("GET", restarted + "/v1/dispatch/dead-letters")
        #expect((dead.object["dead_letters"] as? [Any])?.count == 0, "\(dead.text.prefix(300))")
        let health = try await HTTP.send("GET", restarted + "/v1/health/fulfillment").text
        let final = vendor.ledger()
        print("""
            soak: \(Self.total) orders, 1 kill -9; warehouse requests \(final.requests), faults injected \(final.faultsInjected.values.reduce(0, +)) \
            \(final.faultsInjected.sorted { $0.key < $1.key }); effects \(final.effects[.wms]?.count ?? 0), duplicated \(final.duplicatedEffects[.wms]?.count ?? 0), \
            replayed by idempotency key \(final.replayedByKey), duplicate-reference attempts \(final.duplicateReferenceAttempts); \
            callbacks sent \(final.callbacksSent), lost \(final.callbacksLost), duplicated \(final.callbacksDuplicated), reordered \(final.callbacksReordered); \
            not shipped \(pending.count); health \(health)
            """)
    }

    private func submit(_ base: String, range: Range<Int>, into ids: AckedOrders) async {
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for n in range where n % 8 == worker {
                        // A client retries on a connection error with the same key: one order.
                        for _ in 0..<5 {
                            if let response = try? await HTTP.postOrder(base, key: "soak-\(n)", SampleOrders.order(ref: "SOAK-\(n)")),
                               response.status == 201, let id = response.object["id"] as? String {
                                ids.add(id)
                                break
                            }
                            try? await Task.sleep(for: .milliseconds(200))
                        }
                    }
                }
            }
        }
    }

    private func notShipped(_ base: String, _ ids: [String]) async -> [String] {
        await withTaskGroup(of: String?.self) { group in
            for chunk in 0..<8 {
                group.addTask {
                    var left: [String] = []
                    for (index, id) in ids.enumerated() where index % 8 == chunk {
                        let state = (try? await HTTP.send("GET", base + "/v1/orders/\(id)"))?.object["state"] as? String
                        if state != "shipped" { left.append(id) }
                    }
                    return left.joined(separator: ",")
                }
            }
            var left: [String] = []
            for await part in group where part?.isEmpty == false { left += part!.split(separator: ",").map(String.init) }
            return left
        }
    }
}
