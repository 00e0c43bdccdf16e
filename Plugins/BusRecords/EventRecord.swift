import HubPluginKit

/// The compact form events are stored in: per event, eight length-prefixed byte fields and
/// two integers; one order's events of one commit in one blob. CloudEvents JSON is rendered
/// when the log is read, not on every write: writes are the hot path (each order is written
/// once and read a few times), and the envelope would double the bytes on disk.
public enum EventRecord {
    /// Field order in the encoding.
    public struct Fields: Sendable {
        public init() {}
        public var id: ArraySlice<UInt8> = []
        public var source: ArraySlice<UInt8> = []
        public var type: ArraySlice<UInt8> = []
        public var subject: ArraySlice<UInt8> = []
        public var dataContentType: ArraySlice<UInt8> = []
        public var producer: ArraySlice<UInt8> = []
        public var state: ArraySlice<UInt8> = []
        public var data: ArraySlice<UInt8> = []
        public var timeUnixNanos: Int64 = 0
        public var sequence: UInt64 = 0
    }

    public static func append(_ event: EventView, to out: inout [UInt8]) {
        for field in [event.id, event.source, event.type, event.subject, event.dataContentType, event.producer, event.state, event.data] {
            appendInteger(UInt64(field.raw.count), to: &out)
            out.append(contentsOf: field.raw)
        }
        appendInteger(UInt64(bitPattern: event.timeUnixNanos), to: &out)
        appendInteger(event.sequence, to: &out)
    }

    /// Decodes every event of a stored blob; nil when the blob is damaged.
    public static func decode(_ blob: [UInt8]) -> [Fields]? {
        var events: [Fields] = []
        var index = 0
        func integer() -> UInt64? {
            guard index + 8 <= blob.count else { return nil }
            var value: UInt64 = 0
            for offset in 0..<8 { value |= UInt64(blob[index + offset]) << (8 * UInt64(offset)) }
            index += 8
            return value
        }
        func bytes() -> ArraySlice<UInt8>? {
            guard let count = integer(), count <= UInt64(blob.count - index) else { return nil }
            defer { index += Int(count) }
            return blob[index..<index + Int(count)]
        }
        while index < blob.count {
            var fields = Fields()
            guard let id = bytes(), let source = bytes(), let type = bytes(), let subject = bytes(),
                let contentType = bytes(), let producer = bytes(), let state = bytes(), let data = bytes(),
                let time = integer(), let sequence = integer()
            else { return nil }
            (fields.id, fields.source, fields.type, fields.subject) = (id, source, type, subject)
            (fields.dataContentType, fields.producer, fields.state, fields.data) = (contentType, producer, state, data)
            fields.timeUnixNanos = Int64(bitPattern: time)
            fields.sequence = sequence
            events.append(fields)
        }
        return events
    }

    private static func appendInteger(_ value: UInt64, to out: inout [UInt8]) {
        for offset in 0..<8 { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(offset)))) }
    }
}
