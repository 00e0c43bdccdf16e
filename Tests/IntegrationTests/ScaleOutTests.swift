import Foundation
import HubDevTools
import Testing

/// Several `orderhub run` processes on one PostgreSQL bus: orders shared, idempotency keys
/// global, every dispatch made once by one node, a node killed with -9 under load without
/// losing anything, and the database going away and coming back.
@Suite(.serialized) struct ScaleOutTests {
    /// Two nodes of one manifest (each `--node` named), with a fake WMS behind both.
    struct Cluster {
        let manifest: TestManifest
        var nodes: [ChildProcess] = []
        var bases: [String] = []

        init(_ name: String, wms: FakeWMS, url: String? = nil) throws {
            manifest = try TestManifest(directory: Products.tempDirectory(name), wmsURL: wms.url, maxAttempts: 20,
                                        bus: try PostgresServer.busEntry(schema: PostgresServer.schema(name), url: url))
        }

        mutating func start(_ names: [String], lease: Int = 1500) throws {
            for name in names {
                let node = ChildProcess(["run", "--manifest", manifest.path, "--listen", "127.0.0.1:0", "--node", name, "--lease-ms", "\(lease)"])
                try node.start()
                nodes.append(node)
                bases.append(try #require(node.waitForServing(), "node \(name) did not start: \(node.stderr)"))
            }
        }

        func stop() { for node in nodes where node.process.isRunning { node.kill9() } }

        /// The node holding the WMS's dispatch lease (its index), from /v1/health.
        func leader() async throws -> Int? {
            for (index, base) in bases.enumerated() where nodes[index].process.isRunning {
                let health = try await HTTP.send("GET", base + "/v1/health").object
                if ((health["cluster"] as? [String: Any])?["dispatching_for"] as? [String])?.contains("wms") == true { return index }
            }
            return nil
        }
    }

    @Test func twoNodesShareOrdersAndIdempotencyKeys() async throws {
        let wms = FakeWMS()
        try await wms.start()
        defer { Task { await wms.stop() } }
        var cluster = try Cluster("share", wms: wms)
        defer { cluster.stop() }
        try cluster.start(["a", "b"])
        let (a, b) = (cluster.bases[0], cluster.bases[1])
        // An order accepted by one node is there, with its timeline, on the other at once.
        var ids: [String] = []
        for n in 0..<20 {
            let response = try await HTTP.postOrder(n % 2 == 0 ? a : b, key: "share-\(n)", SampleOrders.order(ref: "S-\(n)"))
            #expect(response.status == 201)
            let id = try #require(response.object["id"] as? String)
            ids.append(id)
            let other = try await HTTP.send("GET", (n % 2 == 0 ? b : a) + "/v1/orders/\(id)")
            #expect(other.status == 200, "order \(id) accepted on one node is not visible on the other")
            #expect(((other.object["timeline"] as? [[String: Any]]) ?? []).count >= 3)
        }
        // The same key sent to both nodes at the same moment makes one order.
        for n in 0..<10 {
            async let first = HTTP.postOrder(a, key: "race-\(n)", SampleOrders.order(ref: "R-\(n)"))
            async let second = HTTP.postOrder(b, key: "race-\(n)", SampleOrders.order(ref: "R-\(n)"))
            let answers = try await [first, second]
            let made = Set(answers.compactMap { $0.object["id"] as? String })
            #expect(made.count == 1, "one key, two nodes: \(answers.map(\.text))")
            #expect(answers.allSatisfy { [200, 201].contains($0.status) }, "\(answers.map(\.status))")
            ids += made
        }
        // Each order reaches the WMS once, from whichever node holds the lease.
        let delivered = await HTTP.eventually(30) { Set(wms.accepted.map(\.orderID)).isSuperset(of: ids) }
        #expect(delivered, "\(Set(ids).subtracting(wms.accepted.map(\.orderID)).count) orders never reached the WMS")
        #expect(Set(wms.accepted.map(\.idempotencyKey)).count == wms.accepted.count, "a dispatch was made twice")
        // Whichever node sends, the warehouse gets the whole instruction (lines, address), not the log's summary.
        let slim = wms.accepted.filter { received in
            let body = String(decoding: received.body, as: UTF8.self)
            return !(body.contains("SKU-1") && body.contains("01001-000"))
        }
        #expect(slim.isEmpty, "\(slim.count) deliveries without the order's lines: \(slim.first.map { String(decoding: $0.body, as: UTF8.self) } ?? "")")
        let leader = try await cluster.leader()
        #expect(leader != nil)
    }

    /// Steady load on both nodes; the node holding the dispatch lease is killed with -9. The
    /// other goes on, takes the lease over, and completes what the dead node had pending:
    /// every acknowledged order is there and reaches the WMS exactly once.
    @Test func failoverUnderLoadLosesNothing() async throws {
        let wms = FakeWMS()
        try await wms.start()
        defer { Task { await wms.stop() } }
        // A slow WMS keeps deliveries pending at the moment of the kill.
        wms.inject(Array(repeating: .delay(milliseconds: 100), count: 60))
        var cluster = try Cluster("failover", wms: wms)
        defer { cluster.stop() }
        try cluster.start(["a", "b"])
        _ = await HTTP.eventually(10) { (try? await cluster.leader()) != nil }
        let victim = try #require(try await cluster.leader())
        let survivor = 1 - victim
        let acknowledged = AckedOrders()
        let refused = AckedOrders()
        let bases = cluster.bases
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        for n in 0..<400 {
                            // Half the senders use the victim until it dies, then the survivor (a load balancer's retry).
                            var targets = [bases[worker % 2 == 0 ? victim : survivor], bases[survivor]]
                            if worker % 2 == 1 { targets.removeFirst() }
                            for base in targets {
                                if let response = try? await HTTP.postOrder(base, key: "f-\(worker)-\(n)", SampleOrders.order(ref: "F-\(worker)-\(n)")) {
                                    if [200, 201].contains(response.status), let id = response.object["id"] as? String { acknowledged.add(id) } else { refused.add("\(response.status)") }
                                    break
                                }
                            }
                        }
                    }
                }
            }
        }
        _ = await HTTP.eventually(30) { acknowledged.count >= 300 }
        let atKill = acknowledged.count
        cluster.nodes[victim].kill9()
        await load.value
        let ids = Set(acknowledged.all)
        #expect(ids.count > atKill, "the survivor took no orders after the kill")
        var missing: [String] = []
        for id in ids {
            let order = try await HTTP.send("GET", cluster.bases[survivor] + "/v1/orders/\(id)")
            if order.status != 200 { missing.append(id) }
        }
        #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(5))")
        let delivered = await HTTP.eventually(60) { Set(wms.accepted.map(\.orderID)).isSuperset(of: ids) }
        let keys = wms.accepted.map(\.idempotencyKey)
        #expect(delivered, "\(ids.subtracting(wms.accepted.map(\.orderID)).count) acknowledged orders never reached the WMS")
        #expect(Set(keys).count == keys.count, "\(keys.count - Set(keys).count) dispatch(es) made twice")
        #expect(wms.accepted.allSatisfy { String(decoding: $0.body, as: UTF8.self).contains("SKU-1") }, "a delivery without the order's lines")
        let health = try await HTTP.send("GET", cluster.bases[survivor] + "/v1/health").object
        #expect(((health["cluster"] as? [String: Any])?["dispatching_for"] as? [String]) == ["wms"])
        print("failover: \(ids.count) orders acknowledged (\(atKill) before the kill of node \(victim == 0 ? "a" : "b")), \(missing.count) missing, "
              + "\(Set(keys).count) delivered once, \(keys.count - Set(keys).count) twice, \(refused.count) refused during the kill")
    }

    /// The database behind a proxy: unreachable at start (the node waits, /v1/health says
    /// why), then cut mid-load (503 with Retry-After, nothing acknowledged lost), then back.
    @Test func databaseAwayAtStartAndMidLoad() async throws {
        let wms = FakeWMS()
        try await wms.start()
        defer { Task { await wms.stop() } }
        let real = try #require(URLComponents(string: try PostgresServer.url()))
        let port = try freePort()
        var proxy: Process? = nil
        func startProxy() throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", Products.repository + "/Tests/Fixtures/tcp_proxy.py", "\(port)", real.host ?? "127.0.0.1", "\(real.port ?? 5432)"]
            process.standardOutput = Pipe()
            try process.run()
            proxy = process
            Thread.sleep(forTimeInterval: 0.3)
        }
        defer { if let running = proxy, running.isRunning { kill(running.processIdentifier, SIGKILL) } }
        var cluster = try Cluster("away", wms: wms, url: "postgresql://\(real.user ?? "orderhub")@127.0.0.1:\(port)/postgres?connect_timeout=2")
        defer { cluster.stop() }
        let node = ChildProcess(["run", "--manifest", cluster.manifest.path, "--listen", "127.0.0.1:0", "--node", "a"])
        try node.start()
        cluster.nodes.append(node)
        // Nothing listens yet: the node keeps trying and its port says why.
        let waiting = await HTTP.eventually(15) { node.stderr.contains("cannot start yet") && node.stderr.contains("listening on") }
        #expect(waiting, "\(node.stderr)")
        let listenPort = try #require(node.stderr.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "listening on 127.0.0.1:[0-9]+", options: .regularExpression) else { return nil }
            return String(line[range].split(separator: ":").last!)
        }.first, "no port in \(node.stderr)")
        let starting = try await HTTP.send("GET", "http://127.0.0.1:\(listenPort)/v1/health")
        #expect(starting.status == 503)
        #expect(starting.object["status"] as? String == "starting")
        #expect((starting.object["reason"] as? String)?.contains("127.0.0.1:\(port)") == true, "\(starting.text)")
        let early = try await HTTP.postOrder("http://127.0.0.1:\(listenPort)", key: "early", SampleOrders.order())
        #expect(early.status == 503 && early.headers["retry-after"] != nil)
        try startProxy()
        let base = try #require(node.waitForServing(timeout: 40), "node did not start once the database answered: \(node.stderr)")
        // Mid-load, the database goes away: intake answers 503 + Retry-After, never a false 201.
        let acknowledged = AckedOrders()
        var unavailable = 0
        var lastRefused = -1
        for n in 0..<150 {
            if n == 50, let running = proxy {
                // SIGKILL: a child may inherit a blocked SIGTERM from the test runner's thread.
                kill(running.processIdentifier, SIGKILL)
                running.waitUntilExit()
            }
            if n == 100 { try startProxy() }
            let response = try await HTTP.postOrder(base, key: "away-\(n)", SampleOrders.order(ref: "A-\(n)"))
            if response.status == 201, let id = response.object["id"] as? String { acknowledged.add(id) }
            else {
                #expect(response.status == 503 && response.headers["retry-after"] != nil, "\(response.status) \(response.text)")
                unavailable += 1
                lastRefused = n
            }
            if (50..<100).contains(n) { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(unavailable > 0, "the cut was not noticed")
        // A connection found dead on its next use fails that one call (503), then is replaced.
        #expect(lastRefused < 120, "the node did not recover by itself: last refusal at request \(lastRefused)")
        for id in acknowledged.all {
            #expect(try await HTTP.send("GET", base + "/v1/orders/\(id)").status == 200, "acknowledged order \(id) lost")
        }
        // And it says so by itself: the bus and the log follower are back within seconds.
        let healthy = await HTTP.eventually(15) { (try? await HTTP.send("GET", base + "/v1/health"))?.status == 200 }
        let last = (try? await HTTP.send("GET", base + "/v1/health"))?.text ?? ""
        #expect(healthy, "\(last)")
    }

    /// Rules on two nodes: a velocity window counts both nodes' orders (shared KV, compare-and-
    /// set), and a ruleset published on one node is live on the other within a tick.
    /// The same with the rules engine in a worker process of its own (isolation: process).
    @Test(arguments: [false, true]) func rulesAreExactAcrossNodes(isolated: Bool) async throws {
        let wms = FakeWMS()
        try await wms.start()
        defer { Task { await wms.stop() } }
        let engine = RulesEngineTests.engine + (isolated ? "\n    isolation: process" : "")
        let manifest = try TestManifest(directory: Products.tempDirectory("rules"), wmsURL: wms.url, extra: engine,
                                        pipeline: "[engine]", bus: try PostgresServer.busEntry(schema: PostgresServer.schema("rules")))
        var nodes: [ChildProcess] = []
        defer { nodes.forEach { if $0.process.isRunning { $0.kill9() } } }
        var bases: [String] = []
        for name in ["a", "b"] {
            let node = ChildProcess(["run", "--manifest", manifest.path, "--listen", "127.0.0.1:0", "--node", name])
            try node.start()
            nodes.append(node)
            bases.append(try #require(node.waitForServing(), "node \(name): \(node.stderr)"))
        }
        let burst = """
            ruleset: risk
            rules:
              - id: same-ip-burst
                velocity: {key: {var: client_ip}, window: 60s, at_least: 6}
                then: [{hold: {type: risk, reason: "6 orders from one IP within 60 s"}}]
            """
        let created = try await RulesEngineTests.post(bases[0], "/v1/rulesets", burst, type: "application/yaml")
        #expect(created.status == 201, "\(created.text)")
        let published = try await RulesEngineTests.post(bases[0], "/v1/rulesets/risk/publish")
        #expect(published.status == 200, "\(published.text)")
        // Node b takes the ruleset published on node a without a restart.
        let live = await HTTP.eventually(10) {
            let list = try? await HTTP.send("GET", bases[1] + "/v1/rulesets")
            return list?.text.contains("\"live\":1") == true || list?.text.contains("\"live\": 1") == true
        }
        #expect(live, "node b never made the ruleset published on node a live")
        try await Task.sleep(for: .milliseconds(300))
        // Five orders from one IP, alternating nodes: none held; the sixth, on either node, is.
        for n in 0..<5 {
            let order = try await RulesEngineTests.order(bases[n % 2], "v-\(n)", price: "10.00", ip: "198.51.100.9")
            #expect(order["state"] as? String != "on_hold", "order \(n + 1) of 6 held too early")
        }
        let sixth = try await RulesEngineTests.order(bases[1], "v-5", price: "10.00", ip: "198.51.100.9")
        #expect(sixth["state"] as? String == "on_hold", "the sixth order from one IP across two nodes was not held: \(RulesEngineTests.rulesAnswer(sixth))")
        let why = ((RulesEngineTests.rulesAnswer(sixth)["fired"] as? [[String: Any]])?.first?["why"] as? [String: Any])?["velocity.count"] as? Int
        #expect(why == 6)
    }

    /// An admin's path: a hub on SQLite takes orders; `orderhub bus migrate` copies its bus
    /// to PostgreSQL and verifies it; the manifest's bus entry is the only change; then back.
    @Test func migrateFromSQLiteToPostgresAndBack() async throws {
        let wms = FakeWMS()
        try await wms.start()
        defer { Task { await wms.stop() } }
        let directory = Products.tempDirectory("migrate")
        for part in ["sqlite", "pg", "back"] { try FileManager.default.createDirectory(atPath: directory + "/" + part, withIntermediateDirectories: true) }
        let sqlite = try TestManifest(directory: directory + "/sqlite", wmsURL: wms.url)
        let hub = ChildProcess(["run", "--manifest", sqlite.path, "--listen", "127.0.0.1:0"])
        try hub.start()
        let base = try #require(hub.waitForServing(), "\(hub.stderr)")
        var ids: [String] = []
        for n in 0..<30 {
            let response = try await HTTP.postOrder(base, key: "m-\(n)", SampleOrders.order(ref: "M-\(n)"))
            ids.append(try #require(response.object["id"] as? String))
        }
        _ = await HTTP.eventually(20) { Set(wms.accepted.map(\.orderID)).isSuperset(of: ids) }
        hub.process.terminate()
        hub.process.waitUntilExit()
        let postgres = try TestManifest(directory: directory + "/pg", wmsURL: wms.url, bus: try PostgresServer.busEntry(schema: PostgresServer.schema("migrate")))
        let copied = try ChildProcess.run(["bus", "migrate", "--from", sqlite.path, "--to", postgres.path])
        #expect(copied.status == 0, "\(copied.stdout)\(copied.stderr)")
        #expect(copied.stdout.contains("verified") && copied.stdout.contains("sha256 log"), "\(copied.stdout)")
        #expect(copied.stderr.contains("[##############################] 100%"), "no progress bar: \(copied.stderr)")
        // Into a bus that is not empty: refused, nothing written.
        let again = try ChildProcess.run(["bus", "migrate", "--from", sqlite.path, "--to", postgres.path])
        #expect(again.status == 4 && again.stderr.contains("not empty"), "\(again.stderr)")
        // The hub on PostgreSQL has every order and sends nothing again.
        let sent = wms.accepted.count
        let node = ChildProcess(["run", "--manifest", postgres.path, "--listen", "127.0.0.1:0", "--node", "m"])
        try node.start()
        defer { node.kill9() }
        let moved = try #require(node.waitForServing(), "\(node.stderr)")
        for id in ids {
            let order = try await HTTP.send("GET", moved + "/v1/orders/\(id)")
            #expect(order.status == 200)
        }
        let replay = try await HTTP.postOrder(moved, key: "m-0", SampleOrders.order(ref: "M-0"))
        #expect(replay.object["id"] as? String == ids[0], "idempotency keys came along")
        try await Task.sleep(for: .seconds(3))
        #expect(wms.accepted.count == sent, "the migrated hub sent already-acknowledged orders again")
        node.process.terminate()
        node.process.waitUntilExit()
        // And back to a new SQLite file.
        let back = try TestManifest(directory: directory + "/back", wmsURL: wms.url)
        let returned = try ChildProcess.run(["bus", "migrate", "--from", postgres.path, "--to", back.path])
        #expect(returned.status == 0 && returned.stdout.contains("verified"), "\(returned.stdout)\(returned.stderr)")
    }

    private func freePort() throws -> Int {
        let result = try ChildProcess.runShell("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])'")
        return try #require(Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}
