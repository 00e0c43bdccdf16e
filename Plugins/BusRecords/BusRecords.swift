import HubJSON
import HubPluginKit

/// What every state bus stores and answers the same way, whatever the database: records of
/// one order's events per append (EventRecord), CloudEvents JSON when read, and the JSON the
/// ABI's scan functions answer. Sharing it keeps `orderhub bus migrate`'s checksums equal
/// across buses: the same log renders to the same bytes on SQLite and on PostgreSQL.
public enum BusRecords {
    /// Groups events by subject, keeping each subject's events in order: one stored record per
    /// order per append. Events of one order arrive together, so the subject is compared with
    /// the previous one first and hashed only when it changes.
    public static func groupBySubject(_ events: [EventView]) -> [[EventView]] {
        var groups: [[EventView]] = []
        var index: [String: Int] = [:]
        var current = -1
        for event in events {
            if current >= 0, event.subject.raw.elementsEqual(groups[current][0].subject.raw) {
                groups[current].append(event)
                continue
            }
            let subject = event.subject.string
            if let at = index[subject] {
                current = at
                groups[at].append(event)
            } else {
                current = groups.count
                index[subject] = current
                groups.append([event])
            }
        }
        return groups
    }

    /// One record's blob (EventRecord encoding).
    public static func encode(_ group: [EventView]) -> [UInt8] {
        var blob: [UInt8] = []
        blob.reserveCapacity(group.reduce(0) { $0 + $1.data.raw.count + 200 })
        for event in group { EventRecord.append(event, to: &blob) }
        return blob
    }

    public static func decode(_ blob: [UInt8], at place: String) throws(PluginError) -> [EventRecord.Fields] {
        guard let events = EventRecord.decode(blob) else { throw .internalError("stored events of \(place) are damaged") }
        return events
    }

    /// The events as a JSON array of CloudEvents.
    public static func render(_ events: [EventRecord.Fields]) -> [UInt8] {
        var writer = JSONWriter(capacity: events.count * 400)
        writer.array { array in
            for event in events {
                var one = JSONWriter(capacity: 512)
                CloudEventJSON.write(event, into: &one)
                array.raw(one.bytes)
            }
        }
        return writer.bytes
    }

    /// A replay page: `[{"offset": N, "events": [...]}]`.
    public static func page(_ records: [(offset: UInt64, events: [EventRecord.Fields])]) -> [UInt8] {
        var writer = JSONWriter()
        writer.array { list in
            for (offset, events) in records {
                list.object { o in
                    o.field("offset", offset)
                    o.rawField("events", render(events))
                }
            }
        }
        return writer.bytes
    }

    /// One idempotency record as `idem_lookup` answers it.
    public static func idempotency(subject: String, fingerprint: String, response: [UInt8]) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { o in
            o.field("subject", subject)
            o.field("fingerprint", fingerprint)
            o.field("response", String(decoding: response, as: UTF8.self))
        }
        return writer.bytes
    }

    /// A page of `idem_scan`.
    public static func idempotencyPage(_ rows: [(key: String, subject: String, fingerprint: String, response: [UInt8])]) -> [UInt8] {
        var writer = JSONWriter()
        writer.array { list in
            for row in rows {
                list.object { o in
                    o.field("key", row.key)
                    o.field("subject", row.subject)
                    o.field("fingerprint", row.fingerprint)
                    o.field("response", String(decoding: row.response, as: UTF8.self))
                }
            }
        }
        return writer.bytes
    }

    /// A page of `kv_scan` (values are bytes: hex in JSON).
    public static func kvPage(_ rows: [(namespace: String, key: String, value: [UInt8], revision: UInt64)]) -> [UInt8] {
        var writer = JSONWriter()
        writer.array { list in
            for row in rows {
                list.object { o in
                    o.field("ns", row.namespace)
                    o.field("key", row.key)
                    o.field("value_hex", hex(row.value))
                    o.field("rev", row.revision)
                }
            }
        }
        return writer.bytes
    }

    /// A list of strings (orders_in_state).
    public static func strings(_ values: [String]) -> [UInt8] {
        var writer = JSONWriter()
        writer.array { a in for value in values { a.element(value) } }
        return writer.bytes
    }

    private static let digits = Array("0123456789abcdef".utf8)

    public static func hex(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
