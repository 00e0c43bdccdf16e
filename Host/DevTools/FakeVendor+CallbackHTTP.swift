import Foundation
import HubJSON

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Wall-clock time for CloudEvents `time` and the payloads' timestamps.
func wallClockNanos() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000_000) }

/// One status change of one record, as the CloudEvent to send.
struct CallbackEvent: Sendable {
    /// The record's callbacks form one chain, sent one at a time.
    let chain: String
    let vendor: FakeVendor.Vendor
    /// `ce-id`: vendor, record id and status change number, so a duplicate keeps its id.
    let id: String
    let time: String
    let payload: [UInt8]
    let target: CallbackTarget

    init(record: VendorRecord, target: CallbackTarget, unixNanos: Int64) {
        let chain = "\(record.vendor.rawValue)-\(record.id)"
        let time = Timestamp.rfc3339(unixNanos: unixNanos)
        self.chain = chain
        self.vendor = record.vendor
        self.id = "\(chain)-\(record.changes)"
        self.time = time
        self.payload = Self.payload(record, time: time)
        self.target = target
    }

    /// Headers and body as sent; the signature covers exactly these body bytes.
    func message() -> CallbackMessage {
        var headers: [(String, String)]
        let body: [UInt8]
        switch target.mode {
        case .binary:
            body = payload
            headers = [
                ("ce-specversion", "1.0"), ("ce-id", id), ("ce-source", vendor.eventSource),
                ("ce-type", vendor.eventType), ("ce-time", time), ("Content-Type", "application/json"),
            ]
        case .structured:
            body = structuredBody()
            headers = [("Content-Type", "application/cloudevents+json")]
        }
        let signature = HMAC.sha256Hex(secret: target.secret, message: body)
        switch vendor {
        case .wms, .tms: headers.append(("X-Signature", "sha256=" + signature))
        case .carrier: headers.append(("X-Hmac-Signature", "hmac-sha256-hex=" + signature))
        }
        return CallbackMessage(headers: headers, body: body)
    }

    private func structuredBody() -> [UInt8] {
        var writer = JSONWriter(capacity: payload.count + 256)
        writer.object { o in
            o.field("specversion", "1.0")
            o.field("id", id)
            o.field("source", vendor.eventSource)
            o.field("type", vendor.eventType)
            o.field("time", time)
            o.field("datacontenttype", "application/json")
            o.rawField("data", payload)
        }
        return writer.bytes
    }

    /// The vendor's own webhook body (ShipBob order, ShipEngine tracking, EasyPost event).
    private static func payload(_ record: VendorRecord, time: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.object { o in
            switch record.vendor {
            case .wms:
                o.field("id", record.number)
                o.field("reference_id", record.reference)
                o.field("status", record.status)
                o.field("updated_at", time)
            case .tms:
                o.field("label_id", record.id)
                o.field("external_shipment_id", record.reference)
                o.field("status_code", record.status)
                o.field("occurred_at", time)
            case .carrier:
                o.field("object", "Event")
                o.field("description", "tracker.updated")
                o.object("result") { r in
                    r.field("id", record.id)
                    r.field("reference", record.reference)
                    r.field("status", record.status)
                    r.field("tracking_code", record.trackingCode)
                }
            }
        }
        return writer.bytes
    }
}

struct CallbackMessage: Sendable {
    let headers: [(String, String)]
    let body: [UInt8]
}

/// How the hub answered one callback attempt.
enum CallbackAnswer: Sendable {
    case delivered
    case retry
    case retryAfter(seconds: Int)
    case refused(status: Int)
    case badURL
}

/// One shared URLSession for every callback, so connections to the hub are kept alive and reused.
struct CallbackHTTP: Sendable {
    let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 4
        configuration.timeoutIntervalForRequest = 5
        session = URLSession(configuration: configuration)
    }

    func post(_ message: CallbackMessage, to url: String) async -> CallbackAnswer {
        guard let target = URL(string: url) else { return .badURL }
        var request = URLRequest(url: target, timeoutInterval: 5)
        request.httpMethod = "POST"
        for (name, value) in message.headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(message.body)
        do {
            let (_, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else { return .retry }
            return Self.classify(http.statusCode, retryAfter: http.value(forHTTPHeaderField: "Retry-After"))
        } catch {
            return .retry
        }
    }

    static func classify(_ status: Int, retryAfter: String?) -> CallbackAnswer {
        switch status {
        case 200..<300: return .delivered
        case 429: return .retryAfter(seconds: min(max(retryAfter.flatMap { Int($0) } ?? 1, 0), 60))
        case 500...: return .retry
        default: return .refused(status: status)
        }
    }
}
