import HubJSON
import NIOHTTP1
import Synchronization

extension FakeVendor {
    /// Applies the request's fault (if any), then routes it. Admin endpoints (`/_…`) never fail.
    func respond(to request: VendorRequest) async -> VendorOutcome {
        if request.path.hasPrefix("/_") { return .reply(admin(request)) }
        switch withState({ $0.nextFault() }) {
        case nil:
            return .reply(route(request))
        case .status(let code)?:
            return .reply(.text(code, "injected fault \(code)\n"))
        case .tooManyRequests(let seconds)?:
            var reply = VendorReply.error(429, "rate limited")
            reply.headers.append(("Retry-After", String(seconds)))
            return .reply(reply)
        case .delay(let milliseconds)?:
            try? await Task.sleep(for: .milliseconds(milliseconds))
            return .reply(route(request))
        case .timeout(let milliseconds)?:
            return .hold(milliseconds: milliseconds)
        case .reset?:
            return .reset
        case .resetAfterEffect?:
            _ = route(request)
            return .reset
        case .timeoutAfterEffect(let milliseconds)?:
            _ = route(request)
            return .hold(milliseconds: milliseconds)
        }
    }

    func route(_ request: VendorRequest) -> VendorReply {
        let segments = request.path.split(separator: "/").map(String.init)
        guard let system = segments.first else { return .notFound }
        let rest = Array(segments.dropFirst())
        switch system {
        case "wms": return routeWMS(request, rest)
        // A sink that accepts anything at once: the ceiling in benchmarks/connectors.
        case "sink": return .json(201, Array(#"{"accepted":true}"#.utf8))
        case "tms": return routeTMS(request, rest)
        case "carrier": return routeCarrier(request, rest)
        default: return .notFound
        }
    }

    // MARK: WMS (ShipBob-like orders, HMAC-signed requests)

    private func routeWMS(_ request: VendorRequest, _ path: [String]) -> VendorReply {
        guard path.count >= 2, path[0] == "1.0", path[1] == "order" || path[1] == "order:cancel" else { return .notFound }
        guard wmsSignatureIsValid(request) else { return .error(401, "bad signature") }
        if path[1] == "order:cancel" {
            // ShipBob's cancel-by-reference form: POST /1.0/order:cancel?reference_id=...
            let number = lookup(.wms, request, by: "reference_id")?.number
            return request.method == .POST ? cancelOrder(number.map(String.init) ?? "") : .notFound
        }
        switch (request.method, path.count) {
        case (.POST, 2): return createOrder(request)
        case (.GET, 2): return findOrder(request)
        case (.POST, 4) where path[3] == "cancel": return cancelOrder(path[2])
        default: return .notFound
        }
    }

    /// `X-Signature: sha256=<hex HMAC(secret, timestamp + "." + body)>`.
    private func wmsSignatureIsValid(_ request: VendorRequest) -> Bool {
        guard let timestamp = request.header("X-Timestamp"), let signature = request.header("X-Signature") else {
            return false
        }
        let signed = Array(timestamp.utf8) + [UInt8(ascii: ".")] + request.body
        return signature.lowercased() == "sha256=" + HMAC.sha256Hex(secret: configuration.wmsSecret, message: signed)
    }

    private func createOrder(_ request: VendorRequest) -> VendorReply {
        let json = try? JSONParser.parse(request.body)
        guard let reference = json?["reference_id"]?.stringValue, !reference.isEmpty,
            json?["products"]?.arrayValue?.isEmpty == false
        else { return .error(400, "reference_id and products are required") }
        let key = request.header("Idempotency-Key")
        return withState { s in
            s.create(.wms, reference: reference, idempotencyKey: key, status: 201) { Self.orderJSON($0) }
        }
    }

    private func findOrder(_ request: VendorRequest) -> VendorReply {
        let record = lookup(.wms, request, by: "reference_id")
        var writer = JSONWriter(capacity: 128)
        writer.array { a in
            if let record { a.raw(Self.orderJSON(record)) }
        }
        return .json(200, writer.bytes)
    }

    private func cancelOrder(_ id: String) -> VendorReply {
        guard let number = Int(id), let record = withState({ $0.cancel(.wms, number: number) }) else {
            return .error(404, "order not found")
        }
        var writer = JSONWriter(capacity: 64)
        writer.object { o in
            o.field("id", record.number)
            o.field("status", record.status)
        }
        return .json(200, writer.bytes)
    }

    /// The vendor's record for the reference named by query parameter `name`.
    func lookup(_ vendor: Vendor, _ request: VendorRequest, by name: String) -> VendorRecord? {
        let reference = request.query[name] ?? ""
        return state.withLock { $0.books[vendor]?.record(reference: reference) }
    }

    private static func orderJSON(_ record: VendorRecord) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.object { o in
            o.field("id", record.number)
            o.field("reference_id", record.reference)
            o.field("status", record.status)
        }
        return writer.bytes
    }

    // MARK: Carrier (EasyPost-like trackers, static API key)

    private func routeCarrier(_ request: VendorRequest, _ path: [String]) -> VendorReply {
        guard path == ["v2", "trackers"] else { return .notFound }
        guard request.header("X-Api-Key") == configuration.carrierKey else { return .error(401, "invalid api key") }
        switch request.method {
        case .POST: return createTracker(request)
        case .GET: return findTrackers(request)
        default: return .notFound
        }
    }

    private func createTracker(_ request: VendorRequest) -> VendorReply {
        let tracker = (try? JSONParser.parse(request.body))?["tracker"]
        guard let code = tracker?["tracking_code"]?.stringValue, !code.isEmpty,
            let reference = tracker?["reference"]?.stringValue, !reference.isEmpty
        else { return .error(400, "tracker.tracking_code and tracker.reference are required") }
        let key = request.header("Idempotency-Key")
        return withState { s in
            s.create(.carrier, reference: reference, idempotencyKey: key, trackingCode: code, status: 201) {
                Self.trackerJSON($0)
            }
        }
    }

    private func findTrackers(_ request: VendorRequest) -> VendorReply {
        let record = lookup(.carrier, request, by: "reference")
        var writer = JSONWriter(capacity: 160)
        writer.object { o in
            o.array("trackers") { a in
                if let record { a.raw(Self.trackerJSON(record)) }
            }
        }
        return .json(200, writer.bytes)
    }

    private static func trackerJSON(_ record: VendorRecord) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.object { o in
            o.field("id", record.id)
            o.field("status", record.status)
            o.field("reference", record.reference)
            o.field("tracking_code", record.trackingCode)
        }
        return writer.bytes
    }
}
