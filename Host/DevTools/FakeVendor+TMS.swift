import HubJSON
import NIOHTTP1
import Synchronization

/// TMS: ShipEngine-like labels behind OAuth2 client credentials (as FedEx's API does).
extension FakeVendor {
    func routeTMS(_ request: VendorRequest, _ path: [String]) -> VendorReply {
        if path == ["oauth", "token"] { return request.method == .POST ? issueToken(request) : .notFound }
        guard path == ["v1", "labels"] else { return .notFound }
        guard bearerIsValid(request) else { return .error(401, "invalid_token") }
        switch request.method {
        case .POST: return createLabel(request)
        case .GET: return findLabels(request)
        default: return .notFound
        }
    }

    /// Client credentials from the form body or, as RFC 6749 prefers, HTTP Basic.
    private func issueToken(_ request: VendorRequest) -> VendorReply {
        let form = FormCoding.pairs(Substring(String(decoding: request.body, as: UTF8.self)))
        guard form["grant_type"] == "client_credentials" else { return .error(400, "unsupported_grant_type") }
        var id = form["client_id"]
        var secret = form["client_secret"]
        if let basic = Self.basicCredentials(request.header("Authorization")) {
            id = basic.id
            secret = basic.secret
        }
        guard id == configuration.tmsClientID, secret == configuration.tmsClientSecret else {
            return .error(401, "invalid_client")
        }
        let token = withState { $0.issueToken() }
        var writer = JSONWriter(capacity: 128)
        writer.object { o in
            o.field("access_token", token)
            o.field("token_type", "bearer")
            o.field("expires_in", configuration.tokenLifetimeSeconds)
        }
        return .json(200, writer.bytes)
    }

    private func bearerIsValid(_ request: VendorRequest) -> Bool {
        guard let header = request.header("Authorization"), header.lowercased().hasPrefix("bearer ") else {
            return false
        }
        let token = String(header.dropFirst("bearer ".count))
        return state.withLock { $0.tokenIsValid(token) }
    }

    private func createLabel(_ request: VendorRequest) -> VendorReply {
        let json = try? JSONParser.parse(request.body)
        guard let reference = json?["external_shipment_id"]?.stringValue, !reference.isEmpty else {
            return .error(400, "external_shipment_id is required")
        }
        let key = request.header("Idempotency-Key")
        return withState { s in
            s.create(.tms, reference: reference, idempotencyKey: key, status: 200) { Self.labelJSON($0) }
        }
    }

    private func findLabels(_ request: VendorRequest) -> VendorReply {
        let record = lookup(.tms, request, by: "external_shipment_id")
        var writer = JSONWriter(capacity: 160)
        writer.object { o in
            o.array("labels") { a in
                guard let record else { return }
                a.object { l in
                    l.field("label_id", record.id)
                    l.field("external_shipment_id", record.reference)
                    l.field("tracking_number", record.trackingCode)
                    l.field("tracking_status", record.status)
                }
            }
        }
        return .json(200, writer.bytes)
    }

    private static func labelJSON(_ record: VendorRecord) -> [UInt8] {
        var writer = JSONWriter(capacity: 160)
        writer.object { o in
            o.field("label_id", record.id)
            o.field("shipment_id", "shp-\(record.number)")
            o.field("external_shipment_id", record.reference)
            o.field("tracking_number", record.trackingCode)
            o.field("status", "completed")
        }
        return writer.bytes
    }

    /// `Authorization: Basic base64(id:secret)`, nil when absent or malformed.
    static func basicCredentials(_ header: String?) -> (id: String, secret: String)? {
        guard let header, header.lowercased().hasPrefix("basic "),
            let decoded = base64Decoded(header.dropFirst("basic ".count))
        else { return nil }
        let text = String(decoding: decoded, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// Standard or URL-safe base64, padding optional.
    static func base64Decoded(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for c in text.utf8 where c != UInt8(ascii: "=") {
            let value: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            default: return nil
            }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }
}
