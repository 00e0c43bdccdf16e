import HubLoader
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Who may call what on the hub's API. Tokens come from a file of hashed tokens (never the
/// tokens themselves), are compared in constant time, and carry one role:
///
/// | role       | may                                                                 |
/// |------------|---------------------------------------------------------------------|
/// | admin      | everything: compose (apply, canary, rollback) and all below          |
/// | operator   | rules, holds, models, replays, reconciliation; read; submit orders    |
/// | client     | submit orders and transitions; read                                 |
/// | viewer     | read                                                                |
/// | integrator | only its own connector's callback endpoint                           |
public final class AccessControl: Sendable {
    public enum Role: String, Sendable, CaseIterable {
        case admin, `operator`, client, viewer, integrator
    }

    public enum Permission: Sendable, Equatable, CustomStringConvertible {
        /// Health, metrics, the API description: no token needed.
        case open
        case read
        /// Orders and their transitions.
        case submit
        /// Rules, holds, models, replays, reconciliation.
        case operate
        /// Composition: apply, canary, rollback.
        case administer
        /// A connector's callback endpoint.
        case callback(slot: String)

        public var description: String {
            switch self {
            case .open: return "none"
            case .read: return "viewer, client, operator or admin"
            case .submit: return "client, operator or admin"
            case .operate: return "operator or admin"
            case .administer: return "admin"
            case .callback(let slot): return "integrator for '\(slot)' or admin"
            }
        }
    }

    public struct Principal: Sendable, Equatable {
        public let name: String
        public let role: Role
        /// The connector slot of an integrator.
        public let slot: String?

        public init(name: String, role: Role, slot: String?) {
            self.name = name
            self.role = role
            self.slot = slot
        }

        public func may(_ permission: Permission) -> Bool {
            switch (permission, role) {
            case (.open, _), (_, .admin): return true
            case (.read, .operator), (.read, .client), (.read, .viewer): return true
            case (.submit, .operator), (.submit, .client): return true
            case (.operate, .operator): return true
            case (.callback(let wanted), .integrator): return slot == wanted
            default: return false
            }
        }
    }

    public enum Decision: Sendable, Equatable {
        case allowed(Principal)
        /// No token, or one that is not known (401).
        case unauthenticated(String)
        /// A known token whose role may not do this (403).
        case forbidden(Principal, String)
    }

    public struct FileError: Error, Sendable, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    struct Entry: Sendable {
        let digest: [UInt8]
        let principal: Principal
    }

    /// Nil: open mode (no tokens configured; only allowed on loopback).
    private let entries: Mutex<[Entry]?>
    /// The sha256 of the tokens file as last read ("" in open mode): `apply` reads it again
    /// when it changed.
    private let source = Mutex<String>("")
    public var fingerprint: String { source.withLock { $0 } }

    /// Open mode: every call allowed, recorded as "anonymous".
    public static let anonymous = Principal(name: "anonymous", role: .admin, slot: nil)

    public init(open: Bool) { entries = Mutex(open ? nil : []) }

    public init(tokensFile: String) throws(FileError) {
        let (read, digest) = try Self.read(tokensFile)
        entries = Mutex(read)
        source.withLock { $0 = digest }
    }

    /// Tokens from the manifest's file and/or from `ORDERHUB_TOKENS` (the same lines, `;` or
    /// newline between them), together; open mode when there are neither.
    public convenience init(tokensFile: String?, environment: String? = AccessControl.environmentTokens) throws(FileError) {
        if tokensFile == nil && environment == nil {
            self.init(open: true)
            return
        }
        self.init(open: false)
        try load(tokensFile: tokensFile, environment: environment)
    }

    /// `ORDERHUB_TOKENS` when set and not empty.
    public static var environmentTokens: String? {
        guard let raw = getenv("ORDERHUB_TOKENS") else { return nil }
        let text = String(cString: raw)
        return text.isEmpty ? nil : text
    }

    private func load(tokensFile: String?, environment: String?) throws(FileError) {
        var all: [Entry] = []
        var digest = ""
        if let tokensFile {
            let (read, fileDigest) = try Self.read(tokensFile)
            all = read
            digest = fileDigest
        }
        if let environment {
            let text = environment.split(separator: ";").joined(separator: "\n")
            let extra = try Self.parse(text, file: "$ORDERHUB_TOKENS", taken: Set(all.map(\.principal.name)))
            all += extra
            digest += SHA256.hex(Array(text.utf8))
        }
        entries.withLock { $0 = all }
        source.withLock { $0 = digest }
    }

    /// What the tokens are now, to put back if an apply that read them again fails later.
    public struct Snapshot: Sendable {
        fileprivate let entries: [Entry]?
        fileprivate let digest: String
    }
    public var snapshot: Snapshot { Snapshot(entries: entries.withLock { $0 }, digest: fingerprint) }
    public func restore(_ snapshot: Snapshot) {
        entries.withLock { $0 = snapshot.entries }
        source.withLock { $0 = snapshot.digest }
    }

    public var isOpen: Bool { entries.withLock { $0 == nil } }
    public var count: Int { entries.withLock { $0?.count ?? 0 } }

    /// Reads the tokens file again (after `orderhub apply` changed the admin section).
    public func reload(_ admin: Manifest.Admin, environment: String? = AccessControl.environmentTokens) throws(FileError) {
        guard admin.tokensFile != nil || environment != nil else {
            entries.withLock { $0 = nil }
            source.withLock { $0 = "" }
            return
        }
        try load(tokensFile: admin.tokensFile, environment: environment)
    }

    /// The sha256 of a tokens file's bytes, for comparing with `fingerprint`.
    public static func fingerprint(of path: String) -> String? { try? read(path).digest }

    public func decide(authorization: String?, _ permission: Permission) -> Decision {
        if permission == .open { return .allowed(Self.anonymous) }
        guard let all = entries.withLock({ $0 }) else { return .allowed(Self.anonymous) }
        guard let header = authorization, header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            return .unauthenticated("send `Authorization: Bearer <token>`; tokens are listed, hashed, in the manifest's admin.tokens_file")
        }
        let digest = SHA256.hash(Array(header.dropFirst(7).utf8))
        // Every entry is compared, each in constant time, so timing tells nothing.
        var found: Principal?
        for entry in all where Self.constantTimeEqual(entry.digest, digest) { found = entry.principal }
        guard let principal = found else { return .unauthenticated("the token is not known to this hub") }
        guard principal.may(permission) else {
            return .forbidden(principal, "'\(principal.name)' is \(principal.role.rawValue)\(principal.slot.map { " for '\($0)'" } ?? ""); this needs \(permission)")
        }
        return .allowed(principal)
    }

    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// `name role sha256:HEX [slot]` per line; `#` starts a comment.
    static func read(_ path: String) throws(FileError) -> (entries: [Entry], digest: String) {
        guard let text = ManifestParser.readText(path) else {
            throw FileError(file: path, line: 0, message: "cannot read the tokens file: \(String(cString: strerror(errno)))")
        }
        return (try parse(text, file: path, taken: []), SHA256.hex(Array(text.utf8)))
    }

    /// Token lines; `taken` names may not be used again.
    static func parse(_ text: String, file path: String, taken: Set<String>) throws(FileError) -> [Entry] {
        var entries: [Entry] = []
        var names = taken
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard !words.isEmpty else { continue }
            let at = index + 1
            guard words.count == 3 || words.count == 4 else {
                throw FileError(file: path, line: at, message: "expected `name role sha256:HEX [slot]`, got \(words.count) word(s)")
            }
            guard let role = Role(rawValue: words[1]) else {
                throw FileError(file: path, line: at, message: "role '\(words[1])' is not one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let hex = words[2].hasPrefix("sha256:") ? String(words[2].dropFirst(7)) : ""
            guard hex.utf8.count == 64, let digest = Self.bytes(hex: hex) else {
                throw FileError(file: path, line: at, message: "expected sha256:<64 hex digits> (make one with `orderhub token new`), got '\(words[2].prefix(20))'")
            }
            if role == .integrator && words.count != 4 {
                throw FileError(file: path, line: at, message: "an integrator token names its connector slot as the fourth word")
            }
            if role != .integrator && words.count == 4 {
                throw FileError(file: path, line: at, message: "only integrator tokens name a slot")
            }
            guard names.insert(words[0]).inserted else { throw FileError(file: path, line: at, message: "name '\(words[0])' is listed twice") }
            entries.append(Entry(digest: digest, principal: Principal(name: words[0], role: role, slot: words.count == 4 ? words[3] : nil)))
        }
        return entries
    }

    static func bytes(hex: String) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8?
        for character in hex.utf8 {
            let value: UInt8
            switch character {
            case 48...57: value = character - 48
            case 97...102: value = character - 87
            case 65...70: value = character - 55
            default: return nil
            }
            if let h = high { out.append(h << 4 | value); high = nil } else { high = value }
        }
        return high == nil ? out : nil
    }
}
