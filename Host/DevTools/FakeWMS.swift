import HTTPTypes
import HubJSON
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A stand-in warehouse system for tests and demos: accepts dispatch instructions over real
/// HTTP on loopback, remembers them (deduplicated by Idempotency-Key, as a real WMS would),
/// and injects faults on demand: 5xx, 429 with Retry-After, slowness, timeouts.
public final class FakeWMS: Sendable {
    public enum Fault: Sendable, Equatable {
        case status(Int)
        case delay(milliseconds: Int)
        case tooManyRequests(retryAfterSeconds: Int)
    }

    public struct Received: Sendable {
        public let idempotencyKey: String
        public let orderID: String
        public let body: [UInt8]
    }

    private let faults = Mutex<[Fault]>([])
    private let received = Mutex<[Received]>([])
    private let attempts = Atomic<Int>(0)
    private let portBox = Mutex<Int>(0)
    private let group = Mutex<ServiceGroup?>(nil)

    public init() {}

    /// Warnings and errors only: tests start many of these.
    public static var quietLogger: Logger {
        var logger = Logger(label: "fake-wms")
        logger.logLevel = .warning
        return logger
    }

    public var port: Int { portBox.withLock { $0 } }
    public var url: String { "http://127.0.0.1:\(port)/orders" }
    /// Every request that reached the handler, faults included.
    public var attemptCount: Int { attempts.load(ordering: .relaxed) }
    /// Distinct dispatch instructions accepted (duplicates by Idempotency-Key not counted).
    public var accepted: [Received] { received.withLock { $0 } }

    /// Faults applied, one per request, to the next requests in order.
    public func inject(_ next: [Fault]) { faults.withLock { $0.append(contentsOf: next) } }

    /// Starts listening on 127.0.0.1:`port` (0 = any free port) and returns once it serves.
    public func start(port: Int = 0, logger: Logger = FakeWMS.quietLogger) async throws {
        let router = Router()
        router.post("/orders") { request, _ in await self.handle(request) }
        router.post("/_faults") { request, _ in await self.setFaults(request) }
        router.get("/_received") { _, _ in self.list() }
        let ready = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in ready.continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
        group.withLock { $0 = serviceGroup }
        Task { try? await serviceGroup.run() }
        for await bound in ready.stream {
            portBox.withLock { $0 = bound }
            break
        }
    }

    public func stop() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }

    private func handle(_ request: Request) async -> Response {
        attempts.add(1, ordering: .relaxed)
        let fault = faults.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        var request = request
        let body = (try? await request.collectBody(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
        switch fault {
        case .status(let code)?:
            return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: "injected fault \(code)")))
        case .tooManyRequests(let seconds)?:
            return Response(status: .tooManyRequests, headers: [.retryAfter: "\(seconds)"])
        case .delay(let ms)?:
            try? await Task.sleep(for: .milliseconds(ms))
        case nil: break
        }
        let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
        let order = request.headers[HTTPField.Name("X-OrderHub-Order")!] ?? ""
        let wmsID = received.withLock { all -> String in
            if let index = all.firstIndex(where: { $0.idempotencyKey == key && !key.isEmpty }) { return "WMS-\(index + 1)" }
            all.append(Received(idempotencyKey: key, orderID: order, body: body))
            return "WMS-\(all.count)"
        }
        let reply = #"{"wms_order_id":"\#(wmsID)","status":"accepted"}"#
        return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: reply)))
    }

    /// `POST /_faults` with `["503", "429", "delay:3000"]` (for demos from the shell).
    private func setFaults(_ request: Request) async -> Response {
        var request = request
        let body = (try? await request.collectBody(upTo: 65_536)).map { Array($0.readableBytesView) } ?? []
        let specs = (try? JSONParser.parse(body))?.arrayValue?.compactMap(\.stringValue) ?? []
        let parsed: [Fault] = specs.compactMap { spec in
            if spec == "429" { return .tooManyRequests(retryAfterSeconds: 1) }
            if spec.hasPrefix("delay:"), let ms = Int(spec.dropFirst(6)) { return .delay(milliseconds: ms) }
            return Int(spec).map { .status($0) }
        }
        inject(parsed)
        return Response(status: .accepted)
    }

    private func list() -> Response {
        var writer = JSONWriter()
        writer.array { a in
            for item in accepted {
                a.object { o in
                    o.field("idempotency_key", item.idempotencyKey)
                    o.field("order_id", item.orderID)
                }
            }
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}
