/// Writes compact JSON into a byte array, without building a tree first.
///
/// ```swift
/// var w = JSONWriter()
/// w.object { o in o.field("id", "ord_1"); o.field("total_minor", 12990) }
/// ```
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        var members = ObjectWriter(writer: self)
        self = JSONWriter()  // hand the buffer over without copying it
        body(&members)
        self = members.writer
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func array(_ body: (inout ArrayWriter) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var elements = ArrayWriter(writer: self)
        self = JSONWriter()
        body(&elements)
        self = elements.writer
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func value(_ text: String) { Self.appendQuoted(text, to: &bytes) }
    public mutating func value(_ number: Int64) { bytes.append(contentsOf: Array(String(number).utf8)) }
    public mutating func value(_ number: Int) { value(Int64(number)) }
    public mutating func value(_ number: UInt64) { bytes.append(contentsOf: Array(String(number).utf8)) }
    public mutating func value(_ flag: Bool) { bytes.append(contentsOf: Array((flag ? "true" : "false").utf8)) }
    public mutating func value(_ number: Double) {
        if number.isFinite {
            bytes.append(contentsOf: Array(String(number).utf8))
        } else {
            bytes.append(contentsOf: Array("null".utf8))
        }
    }
    public mutating func null() { bytes.append(contentsOf: Array("null".utf8)) }
    /// Appends bytes that already are one valid JSON value (empty appends null).
    public mutating func raw(_ json: some Collection<UInt8>) {
        if json.isEmpty { null() } else { bytes.append(contentsOf: json) }
    }
    /// One value as compact JSON text (for messages and the CLI).
    public static func render(_ json: JSONValue) -> String {
        var writer = JSONWriter(capacity: 64)
        writer.value(json)
        return writer.string
    }

    public mutating func value(_ json: JSONValue) {
        switch json {
        case .null: null()
        case .bool(let b): value(b)
        case .number(let n): bytes.append(contentsOf: Array(n.utf8))
        case .string(let s): value(s)
        case .array(let elements): array { a in for element in elements { a.element(element) } }
        case .object(let members): object { o in for m in members { o.field(m.key, m.value) } }
        }
    }

    /// Appends `text` as a JSON string literal, escaping as RFC 8259 requires.
    public static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        var copy = text
        copy.withUTF8 { appendQuoted(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends UTF-8 bytes as a JSON string literal. Runs of bytes that need no escape are
    /// copied at once (this is on the hot path of every event the bus renders).
    public static func appendQuoted(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            if index > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[runStart..<index])) }
            appendEscaped(byte, to: &out)
            runStart = index + 1
        }
        if utf8.count > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[runStart..<utf8.count])) }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0..<0x20:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        default: out.append(byte)
        }
    }

    public struct ObjectWriter {
        fileprivate var writer: JSONWriter
        private var first = true
        fileprivate init(writer: JSONWriter) { self.writer = writer }

        private mutating func key(_ name: String) {
            if !first { writer.bytes.append(UInt8(ascii: ",")) }
            first = false
            JSONWriter.appendQuoted(name, to: &writer.bytes)
            writer.bytes.append(UInt8(ascii: ":"))
        }
        public mutating func field(_ name: String, _ text: String) { key(name); writer.value(text) }
        /// A string field whose ASCII content `body` appends directly (timestamps, padded numbers).
        public mutating func asciiField(_ name: String, _ body: (inout [UInt8]) -> Void) {
            key(name)
            writer.bytes.append(UInt8(ascii: "\""))
            body(&writer.bytes)
            writer.bytes.append(UInt8(ascii: "\""))
        }
        /// A string field from raw UTF-8 bytes, without making a String first.
        public mutating func field(_ name: String, utf8: UnsafeRawBufferPointer) {
            key(name)
            JSONWriter.appendQuoted(utf8, to: &writer.bytes)
        }
        public mutating func field(_ name: String, _ number: Int64) { key(name); writer.value(number) }
        public mutating func field(_ name: String, _ number: Int) { key(name); writer.value(number) }
        public mutating func field(_ name: String, _ number: UInt64) { key(name); writer.value(number) }
        public mutating func field(_ name: String, _ number: Double) { key(name); writer.value(number) }
        public mutating func field(_ name: String, _ flag: Bool) { key(name); writer.value(flag) }
        public mutating func field(_ name: String, _ json: JSONValue) { key(name); writer.value(json) }
        public mutating func fieldNull(_ name: String) { key(name); writer.null() }
        public mutating func rawField(_ name: String, _ json: some Collection<UInt8>) { key(name); writer.raw(json) }
        public mutating func object(_ name: String, _ body: (inout ObjectWriter) -> Void) { key(name); writer.object(body) }
        public mutating func array(_ name: String, _ body: (inout ArrayWriter) -> Void) { key(name); writer.array(body) }
    }

    public struct ArrayWriter {
        fileprivate var writer: JSONWriter
        private var first = true
        fileprivate init(writer: JSONWriter) { self.writer = writer }

        private mutating func comma() {
            if !first { writer.bytes.append(UInt8(ascii: ",")) }
            first = false
        }
        public mutating func element(_ text: String) { comma(); writer.value(text) }
        public mutating func element(_ number: Int64) { comma(); writer.value(number) }
        public mutating func element(_ number: Double) { comma(); writer.value(number) }
        public mutating func element(_ json: JSONValue) { comma(); writer.value(json) }
        public mutating func raw(_ json: some Collection<UInt8>) { comma(); writer.raw(json) }
        public mutating func object(_ body: (inout ObjectWriter) -> Void) { comma(); writer.object(body) }
    }
}
