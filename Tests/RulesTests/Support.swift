import Foundation
import HubJSON
import HubRules

enum RuleFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(relative)))
    }
}

/// Deep equality for test expectations: numbers compare by value (2 == 2.0).
func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.number(let x), .number(let y)):
        guard let p = Num.parse(x), let q = Num.parse(y) else { return false }
        return Num.compare(p, q) == 0
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case (.object(let x), .object(let y)):
        return x.count == y.count && x.allSatisfy { m in y.contains { $0.key == m.key && same($0.value, m.value) } }
    default: return a == b
    }
}

func json(_ text: String) -> JSONValue { try! JSONParser.parse(Array(text.utf8)) }
