import HubJSON
import Testing

@Suite struct JSONTests {
    @Test func parsesAndKeepsNumberText() throws {
        let value = try JSONParser.parse(#"{"a": [1, 2.50, -3e2], "b": {"c": "x\ny\u00e9\ud83d\ude00"}, "d": null, "e": true}"#)
        #expect(value["a"]?.arrayValue?.count == 3)
        #expect(value["a"]?.arrayValue?[1] == .number("2.50"))
        #expect(value.lookup(path: "b.c")?.stringValue == "x\nyé😀")
        #expect(value["d"] == .null)
        #expect(value["e"]?.boolValue == true)
    }

    @Test(arguments: [
        (#"{"a": 1,}"#, 1, 9), ("[1, 2", 1, 6), ("{\n  \"a\": tru\n}", 2, 8), (#"{"a":1} x"#, 1, 9), (#"{"a":1,"a":2}"#, 1, 13),
    ])
    func reportsWhereItFailed(text: String, line: Int, column: Int) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        do { _ = try JSONParser.parse(text) } catch {
            #expect(error.line == line)
            #expect(error.column == column)
        }
    }

    @Test func writerEscapesAndRoundTrips() throws {
        var writer = JSONWriter()
        writer.object { o in
            o.field("s", "quote \" back \\ tab \t nl \n ctl \u{01}")
            o.field("n", Int64(-42))
            o.array("a") { a in a.element("x"); a.element(Int64(1)) }
            o.fieldNull("z")
        }
        let parsed = try JSONParser.parse(writer.bytes)
        #expect(parsed["s"]?.stringValue == "quote \" back \\ tab \t nl \n ctl \u{01}")
        #expect(parsed["n"]?.intValue == -42)
        #expect(parsed["z"] == .null)
    }

    @Test func rejectsDeepNesting() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(String(repeating: "[", count: 500)) }
    }

    @Test func timestampsRoundTripAtMicrosecondPrecision() {
        #expect(Timestamp.rfc3339(unixNanos: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp.rfc3339(unixNanos: 1_795_639_135_123_456_789) == "2026-11-25T20:38:55.123456Z")
        #expect(Timestamp.parseRFC3339("2026-11-25T20:38:55.123456Z") == 1_795_639_135_123_456_000)
        #expect(Timestamp.parseRFC3339("2026-11-25T17:38:55-03:00") == 1_795_639_135_000_000_000)
        #expect(Timestamp.parseRFC3339("2026-13-25T17:38:55Z") == nil)
        #expect(Timestamp.parseRFC3339("yesterday") == nil)
        #expect(Timestamp.rfc3339(unixNanos: -1_000) == "1969-12-31T23:59:59.999999Z")
    }
}
