/// A semver range a manifest pins a slot to (`version: "^2.1"`), as npm and Cargo write
/// them: `^1.2.3`, `~1.2`, `1.x`, `=1.2.3`, `1.2.3` (exact), `*`, or comparators joined by
/// spaces (`>=1.2.0 <2.0.0`). A pre-release only matches a comparator with the same
/// MAJOR.MINOR.PATCH, as npm does.
public struct VersionRange: Sendable, Equatable, CustomStringConvertible {
    struct Comparator: Sendable, Equatable {
        enum Operation: Sendable { case less, lessOrEqual, greater, greaterOrEqual, equal }
        let operation: Operation
        let version: SemanticVersion
    }
    /// All must hold.
    let comparators: [Comparator]
    public let description: String

    public init?(_ text: String) {
        let trimmed = text.trimmingSpaces
        description = trimmed
        var all: [Comparator] = []
        for word in trimmed.split(separator: " ") where !word.isEmpty {
            guard let parsed = Self.parse(String(word)) else { return nil }
            all += parsed
        }
        guard !trimmed.isEmpty else { return nil }
        comparators = all
    }

    public func contains(_ version: SemanticVersion) -> Bool {
        if !version.prerelease.isEmpty {
            let core = { (v: SemanticVersion) in (v.major, v.minor, v.patch) }
            guard comparators.contains(where: { !$0.version.prerelease.isEmpty && core($0.version) == core(version) }) else { return false }
        }
        return comparators.allSatisfy { c in
            switch c.operation {
            case .less: return version < c.version
            case .lessOrEqual: return version <= c.version
            case .greater: return version > c.version
            case .greaterOrEqual: return version >= c.version
            case .equal: return version == c.version
            }
        }
    }

    private static func parse(_ word: String) -> [Comparator]? {
        if word == "*" || word == "x" { return [] }
        for (prefix, operation) in [(">=", Comparator.Operation.greaterOrEqual), ("<=", .lessOrEqual), (">", .greater), ("<", .less), ("=", .equal)]
        where word.hasPrefix(prefix) {
            guard let version = full(String(word.dropFirst(prefix.count))) else { return nil }
            return [Comparator(operation: operation, version: version)]
        }
        if word.hasPrefix("^") {
            guard let (low, parts) = partial(String(word.dropFirst())) else { return nil }
            let high: SemanticVersion
            if low.major > 0 || parts == 1 { high = v(low.major + 1, 0, 0) }
            else if low.minor > 0 || parts == 2 { high = v(0, low.minor + 1, 0) }
            else { high = v(0, 0, low.patch + 1) }
            return [Comparator(operation: .greaterOrEqual, version: low), Comparator(operation: .less, version: high)]
        }
        if word.hasPrefix("~") {
            guard let (low, parts) = partial(String(word.dropFirst())) else { return nil }
            let high = parts == 1 ? v(low.major + 1, 0, 0) : v(low.major, low.minor + 1, 0)
            return [Comparator(operation: .greaterOrEqual, version: low), Comparator(operation: .less, version: high)]
        }
        guard let (low, parts) = partial(word) else { return nil }
        switch parts {
        case 1: return [Comparator(operation: .greaterOrEqual, version: low), Comparator(operation: .less, version: v(low.major + 1, 0, 0))]
        case 2: return [Comparator(operation: .greaterOrEqual, version: low), Comparator(operation: .less, version: v(low.major, low.minor + 1, 0))]
        default: return [Comparator(operation: .equal, version: low)]
        }
    }

    /// `1`, `1.2`, `1.2.3`, `1.x`, `1.2.*`: the lowest version meant and how many parts were given.
    private static func partial(_ text: String) -> (SemanticVersion, Int)? {
        if let exact = SemanticVersion(text) { return (exact, 3) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let given = parts.prefix { $0 != "x" && $0 != "X" && $0 != "*" }
        guard (1...2).contains(given.count), parts.count <= 3, given.allSatisfy({ Int($0) != nil }) else { return nil }
        let numbers = given.map { Int($0)! } + [0, 0]
        return (v(numbers[0], numbers[1], 0), given.count)
    }

    private static func full(_ text: String) -> SemanticVersion? { SemanticVersion(text) }
    private static func v(_ a: Int, _ b: Int, _ c: Int) -> SemanticVersion { SemanticVersion("\(a).\(b).\(c)")! }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
