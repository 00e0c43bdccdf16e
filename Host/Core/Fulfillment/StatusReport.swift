import HubJSON

/// What a connector made of a callback or a status query: the order, the system's own status
/// word, and the lifecycle state it means (nil when it moves none, e.g. "in transit").
struct StatusReport: Sendable {
    let orderID: String
    let vendorStatus: String
    let state: OrderState?
    let exception: Bool

    /// Reads the connector's answer; a `state` that is not a lifecycle state is refused.
    init(_ json: [UInt8], connector: String) throws(StatusReportError) {
        guard let answer = try? JSONParser.parse(json), case .object = answer else {
            throw StatusReportError("connector '\(connector)' answered with something that is not a JSON object")
        }
        orderID = answer["order_id"]?.stringValue ?? ""
        vendorStatus = answer["status"]?.stringValue ?? ""
        exception = answer["exception"]?.boolValue ?? false
        let name = answer["state"]?.stringValue ?? ""
        if name.isEmpty {
            state = nil
        } else if let known = OrderState(rawValue: name), Lifecycle.fulfillmentChain.contains(known) || known == .canceled {
            state = known
        } else {
            throw StatusReportError("connector '\(connector)' mapped status '\(vendorStatus)' to '\(name)': a system may report acknowledged, picked, packed, shipped, delivered or canceled")
        }
    }
}

struct StatusReportError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
