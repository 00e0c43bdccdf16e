/// MAJOR.MINOR.PATCH[-pre][+build], compared as semver.org says (pre-release ignored in order
/// beyond "a pre-release sorts before its release").
public struct SemanticVersion: Sendable, Comparable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int
    public let prerelease: String

    public init?(_ text: String) {
        guard let core = text.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false).first,
            let numbersPart = core.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).first
        else { return nil }
        let parts = core.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let numbers = numbersPart.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3, numbers.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { (48...57).contains($0) } }),
            let major = Int(numbers[0]), let minor = Int(numbers[1]), let patch = Int(numbers[2])
        else { return nil }
        self.major = major
        self.minor = minor
        self.patch = patch
        prerelease = parts.count > 1 ? String(parts[1]) : ""
    }

    public var description: String { "\(major).\(minor).\(patch)" + (prerelease.isEmpty ? "" : "-\(prerelease)") }

    public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        if lhs.prerelease.isEmpty != rhs.prerelease.isEmpty { return !lhs.prerelease.isEmpty }
        return lhs.prerelease < rhs.prerelease
    }
}
