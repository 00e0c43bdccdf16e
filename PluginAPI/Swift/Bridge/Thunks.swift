import CHubABI
import HubJSON
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The C entry points of the descriptor and the kind tables. Non-capturing, so each is a
/// plain C function pointer; each finds its Swift instance through the `void *inst`.
enum Thunks {
    nonisolated(unsafe) static let noError: UnsafePointer<CChar> = UnsafePointer(strdup("")!)  // immutable, never freed

    static let create: @convention(c) (
        UnsafePointer<hub_host_api>?, UnsafeMutableRawPointer?, hub_bytes,
        UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<hub_buf>?
    ) -> hub_status = { host, hctx, config, outInst, outErr in
        guard let host, let outInst else {
            fillBuffer(outErr, "create called without host services or an out pointer")
            return HUB_INVALID
        }
        guard let registered = registration.withLock({ $0 }) else {
            fillBuffer(outErr, "create called before hub_plugin_entry_v1")
            return HUB_STATE
        }
        let configValue: JSONValue
        do {
            configValue = config.len == 0 ? .object([]) : try JSONParser.parse(BytesView(config).array)
        } catch {
            fillBuffer(outErr, "config is not valid JSON: \(error)")
            return HUB_INVALID
        }
        do throws(PluginError) {
            let context = PluginContext(host: HostServices(api: host, context: hctx), config: configValue)
            let plugin = try registered.make(context)
            outInst.pointee = Unmanaged.passRetained(InstanceBox(plugin: plugin)).toOpaque()
            return HUB_OK
        } catch {
            fillBuffer(outErr, error.message)
            return error.status
        }
    }

    static let destroy: @convention(c) (UnsafeMutableRawPointer?) -> Void = { inst in
        guard let inst else { return }
        InstanceBox.from(inst).plugin.shutdown()
        Unmanaged<InstanceBox>.fromOpaque(inst).release()
    }

    static let lastError: @convention(c) (UnsafeMutableRawPointer?) -> UnsafePointer<CChar>? = { inst in
        guard inst != nil else { return Thunks.noError }
        return InstanceBox.from(inst).errorCString()
    }

    static let health: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<hub_buf>?) -> hub_status = { inst, out in
        let box = InstanceBox.from(inst)
        var writer = JSONWriter()
        let detail = box.plugin.health()
        writer.object { o in
            // A report may say its own status ("ok", "degraded", "down"), e.g. a bus whose database is away.
            o.field("status", detail?["status"]?.stringValue ?? "ok")
            if let detail { o.field("detail", detail) }
        }
        fillBuffer(out, writer.bytes)
        return HUB_OK
    }

    static let onEvent: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<hub_event>?) -> hub_status = { inst, event in
        guard let event else { return HUB_INVALID }
        let box = InstanceBox.from(inst)
        return box.call { () throws(PluginError) in try box.plugin.onEvent(EventView(event)) }
    }

    static let exportState: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<hub_buf>?, UnsafeMutablePointer<UInt32>?) -> hub_status = { inst, out, schema in
        let box = InstanceBox.from(inst)
        return box.call { () throws(PluginError) in
            let state = try box.plugin.exportState()
            fillBuffer(out, state?.bytes ?? [])
            schema?.pointee = state?.schema ?? 0
        }
    }

    static let quiesce: @convention(c) (UnsafeMutableRawPointer?, UInt64) -> hub_status = { inst, deadline in
        let box = InstanceBox.from(inst)
        return box.call { () throws(PluginError) in try box.plugin.quiesce(deadline: deadline) }
    }

    static let importState: @convention(c) (UnsafeMutableRawPointer?, hub_bytes, UInt32) -> hub_status = { inst, state, schema in
        let box = InstanceBox.from(inst)
        return box.call { () throws(PluginError) in try box.plugin.importState(BytesView(state).array, schema: schema) }
    }

    static let control: @convention(c) (UnsafeMutableRawPointer?, hub_bytes, hub_bytes, UnsafeMutablePointer<hub_buf>?) -> hub_status = { inst, command, args, out in
        let box = InstanceBox.from(inst)
        return box.call { () throws(PluginError) in
            let arguments: JSONValue
            do {
                arguments = args.len == 0 ? .object([]) : try JSONParser.parse(BytesView(args).array)
            } catch {
                throw .invalid("control arguments are not valid JSON: \(error)")
            }
            fillBuffer(out, try box.plugin.control(BytesView(command).string, arguments))
        }
    }

    static let kindAPI: @convention(c) (UnsafeMutableRawPointer?, UInt32, UInt32) -> UnsafeRawPointer? = { inst, kind, version in
        // This kit implements version 1 of each table; a host asking for another gets NULL.
        guard version == 1 else { return nil }
        return InstanceBox.with(inst) { box in box.kind == kind ? box.table : nil }
    }
}
