import HubCore
import HubJSON
import HubLoader
import Hummingbird

extension HubRoutes {
    static func plugins(_ hub: Hub) -> Response {
        var writer = JSONWriter()
        writer.array { list in
            for instance in hub.plugins.instances {
                let d = instance.descriptor
                list.object { o in
                    o.field("slot", instance.slot)
                    o.field("id", d.id)
                    o.field("version", d.version)
                    o.field("kind", d.kind.name)
                    o.field("abi", "\(d.abiMajor).\(d.abiMinor)")
                    o.field("threading", d.threading.name)
                    o.field("library", instance.libraryPath)
                    o.field("sha256", instance.sha256)
                    o.field("isolation", instance.isolation)
                    // A plugin's health report is embedded only if it is JSON.
                    if let health = instance.health(), let parsed = try? JSONParser.parse(health) { o.field("health", parsed) } else { o.fieldNull("health") }
                }
            }
        }
        return APIResponse.json(.ok, writer.bytes)
    }

    static func lifecycle() -> Response {
        var writer = JSONWriter()
        writer.object { o in
            o.array("states") { a in for s in OrderState.allCases { a.element(s.rawValue) } }
            o.array("transitions") { a in
                for t in Lifecycle.transitions {
                    a.object { e in
                        e.field("from", t.from.rawValue)
                        e.field("to", t.to.rawValue)
                        e.field("meaning", t.meaning)
                    }
                }
            }
        }
        return APIResponse.json(.ok, writer.bytes)
    }

    static func health(_ hub: Hub) -> Response {
        var down = false
        var degraded = false
        var writer = JSONWriter()
        writer.object { o in
            o.array("plugins") { a in
                for instance in hub.plugins.instances {
                    let health = instance.health()
                    let status = health.flatMap { try? JSONParser.parse($0) }?["status"]?.stringValue ?? "unknown"
                    if status == "down" { down = true }
                    if status == "degraded" { degraded = true }
                    a.object { p in
                        p.field("slot", instance.slot)
                        p.field("status", status)
                    }
                }
            }
            o.array("dispatch_backlog") { a in
                for dispatcher in hub.dispatchers {
                    a.object { d in
                        d.field("connector", dispatcher.connector.slot)
                        d.field("backlog", dispatcher.backlog)
                    }
                }
            }
            if let cluster = hub.cluster {
                let status = cluster.status
                if status.error != nil { degraded = true }
                o.object("cluster") { c in
                    c.field("node", status.node)
                    c.field("log_position", status.position)
                    c.array("dispatching_for") { a in for slot in status.leading { a.element(slot) } }
                    if let error = status.error { c.field("error", error) }
                }
            }
            o.field("orders_accepted", Int64(hub.metrics.acceptedCount))
            o.field("status", down ? "down" : degraded ? "degraded" : "ok")
        }
        return APIResponse.json(down ? .serviceUnavailable : .ok, writer.bytes)
    }
}
