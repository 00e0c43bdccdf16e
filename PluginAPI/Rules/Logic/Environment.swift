import Foundation
import HubJSON
import Synchronization

/// What rules may consult besides the order: lookup tables and the merchant's time zone.
public struct RuleEnvironment: Sendable {
    public let tables: [String: LookupTable]
    public let timeZone: TimeZone
    private let offsets: ZoneOffsets

    public init(tables: [String: LookupTable] = [:], timeZone: TimeZone = TimeZone(identifier: "UTC")!) {
        self.tables = tables
        self.timeZone = timeZone
        offsets = ZoneOffsets.of(timeZone)
    }

    /// Seconds east of UTC at a moment, in the merchant's zone (daylight saving included).
    func utcOffset(atUnixSeconds seconds: Int64) -> Int64 { offsets.offset(at: seconds) }
}

/// A zone's UTC offsets as a table of transitions, built once per zone per process, so a
/// rule reading local time does a binary search, not a call into the time-zone database.
final class ZoneOffsets: Sendable {
    /// (from this UTC second on, this offset), ascending; covers 1970 to 2100.
    let changes: [(from: Int64, offset: Int64)]
    private static let cache = Mutex<[String: ZoneOffsets]>([:])

    static func of(_ zone: TimeZone) -> ZoneOffsets {
        cache.withLock { all in
            if let known = all[zone.identifier] { return known }
            let made = ZoneOffsets(zone)
            all[zone.identifier] = made
            return made
        }
    }

    private init(_ zone: TimeZone) {
        var changes: [(Int64, Int64)] = [(Int64.min, Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: 0))))]
        var moment = Date(timeIntervalSince1970: 0)
        let end = Date(timeIntervalSince1970: 4_102_444_800)  // 2100-01-01
        while let next = zone.nextDaylightSavingTimeTransition(after: moment), next < end, changes.count < 1000 {
            changes.append((Int64(next.timeIntervalSince1970), Int64(zone.secondsFromGMT(for: next))))
            moment = next
        }
        self.changes = changes
    }

    func offset(at seconds: Int64) -> Int64 {
        var low = 0, high = changes.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if changes[middle].from <= seconds { low = middle } else { high = middle - 1 }
        }
        return changes[low].offset
    }
}

/// A lookup table read from CSV: the first column is the key, the others are named columns.
/// Used as a set (`in_table`) or as a factor table (`lookup`).
public struct LookupTable: Sendable {
    public let name: String
    public let columns: [String]
    let rows: [String: [String]]
    /// The CSV text it was read from: stored with the ruleset version that uses it.
    public let source: String

    public var count: Int { rows.count }
    public func contains(_ key: String) -> Bool { rows[key] != nil }

    public func value(_ key: String, column: String) -> String? {
        guard let index = columns.firstIndex(of: column), let row = rows[key], index < row.count else { return nil }
        return row[index]
    }

    /// Parses CSV with a header row (RFC 4180 quoting). Errors name the table, line and column.
    public static func parse(name: String, csv: String, file: String) throws(RuleError) -> LookupTable {
        var records: [[String]] = []
        var field = "", record: [String] = [], inQuotes = false, line = 1, afterQuote = false
        var iterator = csv.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; afterQuote = true; pending = next }
                    } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty && !afterQuote: inQuotes = true
            case ",": record.append(field); field = ""; afterQuote = false
            case "\r": break
            case "\n":
                record.append(field)
                if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
                record = []; field = ""; afterQuote = false; line += 1
            default: field.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw RuleError(file: file, line: line, column: 1, message: "table '\(name)': a quoted field is not closed") }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        guard let header = records.first, !header.isEmpty else {
            throw RuleError(file: file, line: 1, column: 1, message: "table '\(name)': the CSV needs a header row")
        }
        var rows: [String: [String]] = [:]
        for (index, row) in records.dropFirst().enumerated() {
            guard row.count == header.count else {
                throw RuleError(file: file, line: index + 2, column: 1,
                                message: "table '\(name)': row \(index + 2) has \(row.count) fields, the header has \(header.count)")
            }
            let key = row[0].trimmingWhitespace
            if rows[key] != nil {
                throw RuleError(file: file, line: index + 2, column: 1, message: "table '\(name)': key '\(key)' appears twice")
            }
            rows[key] = row.map { $0.trimmingWhitespace }
        }
        return LookupTable(name: name, columns: header.map { $0.trimmingWhitespace }, rows: rows, source: csv)
    }
}
