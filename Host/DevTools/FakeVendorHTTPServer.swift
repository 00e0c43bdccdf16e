import HubJSON
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One complete HTTP request as the vendors see it.
struct VendorRequest: Sendable {
    let method: HTTPMethod
    let path: String
    let query: [String: String]
    let headers: HTTPHeaders
    let body: [UInt8]

    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// An answer: status, headers and body.
struct VendorReply: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: [UInt8] = []

    static func json(_ status: Int, _ body: [UInt8]) -> VendorReply {
        VendorReply(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    static func error(_ status: Int, _ message: String) -> VendorReply {
        var writer = JSONWriter(capacity: 64)
        writer.object { $0.field("error", message) }
        return json(status, writer.bytes)
    }

    static func text(_ status: Int, _ text: String) -> VendorReply {
        VendorReply(status: status, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
    }

    static var notFound: VendorReply { error(404, "not found") }
}

/// What the server does with a request: answer, or misbehave at the connection level.
enum VendorOutcome: Sendable {
    case reply(VendorReply)
    /// Close at once with RST, answering nothing.
    case reset
    /// Answer nothing for this long, then close.
    case hold(milliseconds: Int)
}

/// HTTP/1.1 with keep-alive on plain SwiftNIO rather than Hummingbird: faults must be able to
/// drop a connection or leave a request hanging, which a router's response model cannot express.
struct FakeVendorHTTPServer: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    typealias Responder = @Sendable (VendorRequest) async -> VendorOutcome

    let group: MultiThreadedEventLoopGroup
    let listener: NIOAsyncChannel<Connection, Never>

    var port: Int { listener.channel.localAddress?.port ?? 0 }

    /// Listens on 127.0.0.1:`port` (0 = any free port) on a one-thread event loop group it owns.
    static func bind(port: Int) async throws -> FakeVendorHTTPServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let listener = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
            return FakeVendorHTTPServer(group: group, listener: listener)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Accepts connections until the listener closes or the task is cancelled.
    func run(_ respond: @escaping Responder) async {
        do {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await listener.executeThenClose { inbound in
                    for try await connection in inbound {
                        tasks.addTask { await Self.serve(connection, respond) }
                    }
                }
            }
        } catch {
            // The listener closed under us (stop): nothing left to serve.
        }
    }

    /// Closes the listener and every connection, then the event loop thread.
    func shutdown() async {
        listener.channel.close(promise: nil)
        try? await group.shutdownGracefully()
    }

    /// Serves requests on one connection, one at a time, until the client or a fault closes it.
    private static func serve(_ connection: Connection, _ respond: Responder) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case .head(let next):
                        head = next
                        body = []
                        if next.headers.first(name: "Expect")?.lowercased() == "100-continue" {
                            try await outbound.write(.head(HTTPResponseHead(version: next.version, status: .continue)))
                        }
                    case .body(let chunk):
                        body.append(contentsOf: chunk.readableBytesView)
                    case .end:
                        guard let request = head else { continue }
                        head = nil
                        let outcome = await respond(makeRequest(request, body: body))
                        guard try await carryOut(outcome, for: request, connection.channel, outbound) else { return }
                    }
                }
            }
        } catch {
            // A client that vanished, or a hold cut short by stop: the connection is closed either way.
        }
    }

    /// Answers or misbehaves; true when the connection stays open for the next request.
    private static func carryOut(
        _ outcome: VendorOutcome, for head: HTTPRequestHead, _ channel: any Channel,
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws -> Bool {
        switch outcome {
        case .reply(let reply):
            try await outbound.write(contentsOf: responseParts(reply, for: head))
            return head.isKeepAlive
        case .reset:
            await setLingerZero(channel)
            return false
        case .hold(let milliseconds):
            try await Task.sleep(for: .milliseconds(milliseconds))
            return false
        }
    }

    private static func makeRequest(_ head: HTTPRequestHead, body: [UInt8]) -> VendorRequest {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query = parts.count > 1 ? FormCoding.pairs(parts[1]) : [:]
        let path = String(parts.first ?? "")
        return VendorRequest(method: head.method, path: path, query: query, headers: head.headers, body: body)
    }

    private static func responseParts(_ reply: VendorReply, for head: HTTPRequestHead) -> [HTTPServerResponsePart] {
        var headers = HTTPHeaders()
        for (name, value) in reply.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(reply.body.count))
        if !head.isKeepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if head.version.minor == 0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        let status = HTTPResponseStatus(statusCode: reply.status)
        let responseHead = HTTPResponseHead(version: head.version, status: status, headers: headers)
        var parts: [HTTPServerResponsePart] = [.head(responseHead)]
        if !reply.body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: reply.body)))) }
        parts.append(.end(nil))
        return parts
    }

    /// SO_LINGER 0 turns the coming close into an RST, as a crashing proxy would send.
    private static func setLingerZero(_ channel: any Channel) async {
        guard let provider = channel as? any SocketOptionProvider else { return }
        _ = try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
    }
}

/// `application/x-www-form-urlencoded` and query strings.
enum FormCoding {
    static func pairs(_ text: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            result[decoded(parts[0])] = parts.count > 1 ? decoded(parts[1]) : ""
        }
        return result
    }

    static func decoded(_ text: Substring) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let high = hexValue(bytes[i + 1]),
                let low = hexValue(bytes[i + 2])
            {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i] == UInt8(ascii: "+") ? UInt8(ascii: " ") : bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
