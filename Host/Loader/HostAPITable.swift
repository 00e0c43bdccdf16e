import CHubABI
import Dispatch
import HubJSON
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The one hub_host_api table every instance receives. Each function finds its
/// HostContext through `hctx`; none keeps global state.
enum HostAPITable {
    /// For instances with the full services (every plugin but the bus, in a running hub).
    nonisolated(unsafe) static let shared = make(caps: UInt64(HUB_HOST_CAP_KV) | UInt64(HUB_HOST_CAP_PUBSUB)
        | UInt64(HUB_HOST_CAP_TIMERS) | UInt64(HUB_HOST_CAP_METRICS))  // immutable after init
    /// The same, for plugins of a hub node sharing its bus with other nodes: the KV is shared.
    nonisolated(unsafe) static let clustered = make(caps: UInt64(HUB_HOST_CAP_KV) | UInt64(HUB_HOST_CAP_PUBSUB)
        | UInt64(HUB_HOST_CAP_TIMERS) | UInt64(HUB_HOST_CAP_METRICS) | UInt64(HUB_HOST_CAP_KV_SHARED))  // immutable after init
    /// For the bus itself and for `orderhub check`: no KV or events, and the caps say so.
    nonisolated(unsafe) static let limited = make(caps: UInt64(HUB_HOST_CAP_TIMERS) | UInt64(HUB_HOST_CAP_METRICS))  // immutable

    private static func make(caps: UInt64) -> UnsafeMutablePointer<hub_host_api> {
        let table = UnsafeMutablePointer<hub_host_api>.allocate(capacity: 1)
        table.initialize(to: hub_host_api(
            struct_size: UInt32(MemoryLayout<hub_host_api>.size),
            abi_major: UInt16(HUB_ABI_MAJOR), abi_minor: UInt16(HUB_ABI_MINOR),
            caps: caps,
            log: { hctx, level, message in
                let context = HostAPITable.context(hctx)
                let text = message.string
                let logLevel: Logger.Level = [.trace, .debug, .info, .warning, .error][Int(max(0, min(4, level)))]
                context.logger.log(level: logLevel, "\(text)", metadata: ["plugin": "\(context.slot)"])
            },
            publish: { hctx, event in
                guard let event else { return HUB_INVALID }
                let context = HostAPITable.context(hctx)
                guard let backend = context.backend else { return HUB_UNSUPPORTED }
                let e = event.pointee
                return backend.publish(from: context.slot, BusEvent(
                    id: e.id.string, source: e.source.string, type: e.type.string, subject: e.subject.string,
                    data: e.data.array, contentType: e.datacontenttype.string, producer: context.slot,
                    timeUnixNanos: e.time_unix_ns, sequence: 0, state: ""))
            },
            subscribe: { hctx, pattern, outID in
                let context = HostAPITable.context(hctx)
                guard let backend = context.backend else { return HUB_UNSUPPORTED }
                outID?.pointee = backend.subscribe(context, pattern: pattern.string)
                return HUB_OK
            },
            unsubscribe: { hctx, id in
                let context = HostAPITable.context(hctx)
                return context.backend?.unsubscribe(context, id: id) ?? HUB_UNSUPPORTED
            },
            kv_get: { hctx, key, out, outRev in
                let context = HostAPITable.context(hctx)
                guard let backend = context.backend else { return HUB_UNSUPPORTED }
                switch backend.kvGet(namespace: context.slot, key: key.string) {
                case .success(nil): return HUB_NOT_FOUND
                case .success(let entry?):
                    HostAPITable.fill(out, entry.value)
                    outRev?.pointee = entry.revision
                    return HUB_OK
                case .failure(let error): return error.status
                }
            },
            kv_put: { hctx, key, value, expect, outRev in
                let context = HostAPITable.context(hctx)
                guard let backend = context.backend else { return HUB_UNSUPPORTED }
                switch backend.kvPut(namespace: context.slot, key: key.string, value: value.array, expectedRevision: expect) {
                case .success(let revision):
                    outRev?.pointee = revision
                    return HUB_OK
                case .failure(let error): return error.status
                }
            },
            config_get: { hctx, key, out in
                let context = HostAPITable.context(hctx)
                guard let value = context.config.lookup(path: key.string) else { return HUB_NOT_FOUND }
                if case .string(let text) = value {
                    HostAPITable.fill(out, Array(text.utf8))
                } else {
                    var writer = JSONWriter()
                    writer.value(value)
                    HostAPITable.fill(out, writer.bytes)
                }
                return HUB_OK
            },
            metric_define: { hctx, name, kind, help, outID in
                let context = HostAPITable.context(hctx)
                guard let id = context.defineMetric(name: name.string, kind: kind, help: help.string) else { return HUB_INVALID }
                outID?.pointee = id
                return HUB_OK
            },
            metric_record: { hctx, id, value in HostAPITable.context(hctx).recordMetric(id, value) },
            clock_mono_ns: { _ in Clock.monotonicNanos() },
            clock_wall_ns: { _ in UInt64(Clock.wallNanos()) },
            schedule: { hctx, delay, token in
                let context = HostAPITable.context(hctx)
                guard let instance = context.instance, instance.supportsTimers else { return HUB_UNSUPPORTED }
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(min(delay, UInt64(Int.max))))) {
                    context.instance?.fireTimer(token)
                }
                return HUB_OK
            }))
        return table
    }

    static func context(_ hctx: UnsafeMutableRawPointer?) -> HostContext {
        Unmanaged<HostContext>.fromOpaque(hctx!).takeUnretainedValue()
    }

    /// Fills an owned buffer the plugin releases with our `free`.
    static func fill(_ out: UnsafeMutablePointer<hub_buf>?, _ bytes: [UInt8]) {
        guard let out else { return }
        let memory = malloc(max(bytes.count, 1))!.assumingMemoryBound(to: UInt8.self)
        bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { memory.update(from: base, count: bytes.count) } }
        out.pointee = hub_buf(ptr: memory, len: bytes.count, release: { buf in
            free(buf?.pointee.ptr)
            buf?.pointee.ptr = nil
            buf?.pointee.len = 0
        }, owner: nil)
    }
}

/// Monotonic and wall clocks in ns.
public enum Clock {
    public static func monotonicNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
    public static func wallNanos() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
