import CHubABI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A plugin library opened with dlopen, checked against the ABI, never closed.
///
/// Swift images must never be dlclose'd (the runtime keeps their conformance records), so
/// every library is opened RTLD_NODELETE and stays mapped until the process exits.
public final class PluginLibrary: @unchecked Sendable {  // immutable after init; descriptor is static in the image
    public let path: String
    /// Where it was dlopen'd from: `path`, or a content-addressed copy when an older build at
    /// `path` is already mapped (see `LoadedImages`).
    public let loadedFrom: String
    public let sha256: String
    public let descriptor: PluginDescriptor
    let raw: UnsafePointer<hub_plugin_desc>
    /// Serialises every instance of a SERIAL_GLOBAL plugin, across slots: dlopen of one file
    /// yields one image and one descriptor, so the gate is keyed by the descriptor's address.
    var globalGate: GlobalGate { GlobalGate.for(raw) }

    /// The host's own ABI version, handed to every plugin.
    public static let hostABI = (major: UInt16(HUB_ABI_MAJOR), minor: UInt16(HUB_ABI_MINOR))

    /// True when instances can take over a predecessor's state (HUB_CAP_STATE_EXPORT with
    /// import_state), read from the descriptor without creating one.
    public var importsState: Bool { DescriptorValidator.has(raw, \.import_state, cap: UInt64(HUB_CAP_STATE_EXPORT)) }

    /// Opens and validates a plugin. `expectedSHA256` (hex) is checked before dlopen.
    public init(path: String, expectedSHA256: String?) throws(LoadError) {
        self.path = path
        let bytes = try Self.readAll(path)
        sha256 = SHA256.hex(bytes)
        if let expected = expectedSHA256?.lowercased(), expected != sha256 {
            throw LoadError(
                .checksumMismatch, path: path,
                "sha256 is \(sha256) but the manifest pins \(expected); if you rebuilt it, run `orderhub manifest pin`")
        }
        guard bytes.count >= 4, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw LoadError(.notALibrary, path: path, "not an ELF shared library (first bytes are not \\x7fELF)")
        }
        loadedFrom = try LoadedImages.pathToOpen(path, sha256: sha256, bytes: bytes)
        guard let handle = dlopen(loadedFrom, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            throw LoadError(.notALibrary, path: path, "dlopen failed: \(String(cString: dlerror()))")
        }
        guard let symbol = dlsym(handle, HUB_ENTRY_SYMBOL) else {
            throw LoadError(.entryMissing, path: path, "no exported symbol '\(HUB_ENTRY_SYMBOL)': not an OrderHub plugin, or built for another ABI major")
        }
        let entry = unsafeBitCast(symbol, to: hub_plugin_entry_v1_fn.self)
        var out: UnsafePointer<hub_plugin_desc>?
        let status = entry(Self.hostABI.major, Self.hostABI.minor, &out)
        guard status == HUB_OK else {
            throw LoadError(.entryFailed, path: path, "\(HUB_ENTRY_SYMBOL) refused host ABI \(Self.hostABI.major).\(Self.hostABI.minor) with status \(PluginStatus.name(status))")
        }
        guard let out else { throw LoadError(.entryFailed, path: path, "\(HUB_ENTRY_SYMBOL) returned OK but no descriptor") }
        raw = out
        descriptor = try DescriptorValidator.validate(out, path: path)
    }

    private static func readAll(_ path: String) throws(LoadError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw LoadError(.fileMissing, path: path, "cannot open plugin library: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes.append(contentsOf: chunk[0..<count])
            if count < chunk.count { break }
        }
        return bytes
    }
}

/// Checks a descriptor field by field: sizes first, then values, never trusting a version alone.
enum DescriptorValidator {
    static func validate(_ desc: UnsafePointer<hub_plugin_desc>, path: String) throws(LoadError) -> PluginDescriptor {
        let size = desc.pointee.struct_size
        // Read nothing but struct_size until we know the rest fits.
        let required = MemoryLayout<hub_plugin_desc>.offset(of: \hub_plugin_desc.last_error)! + MemoryLayout<Int>.size
        guard size >= required else {
            throw LoadError(.descriptorInvalid, path: path, "descriptor.struct_size is \(size) bytes, ABI 1.0 needs at least \(required)")
        }
        let major = desc.pointee.abi_major
        let minor = desc.pointee.abi_minor
        let host = PluginLibrary.hostABI
        guard major == host.major else {
            throw LoadError(.abiMismatch, path: path, "descriptor.abi_major: plugin built for ABI \(major).\(minor), host speaks \(host.major).\(host.minor) (majors must be equal)")
        }
        guard minor <= host.minor else {
            throw LoadError(.abiMismatch, path: path, "descriptor.abi_minor: plugin built for ABI \(major).\(minor), host speaks \(host.major).\(host.minor) (a plugin's minor must not be newer than the host's)")
        }
        guard let idPointer = desc.pointee.id, let versionPointer = desc.pointee.version else {
            throw LoadError(.descriptorInvalid, path: path, "descriptor.\(desc.pointee.id == nil ? "id" : "version") is NULL")
        }
        let id = String(cString: idPointer)
        let version = String(cString: versionPointer)
        guard !id.isEmpty, id.utf8.count <= 128 else { throw LoadError(.descriptorInvalid, path: path, "descriptor.id '\(id)' must be 1-128 characters") }
        guard SemanticVersion(version) != nil else {
            throw LoadError(.descriptorInvalid, path: path, "descriptor.version '\(version)' of '\(id)' is not a semantic version (MAJOR.MINOR.PATCH)")
        }
        guard let kind = PluginDescriptor.Kind(rawValue: desc.pointee.kind) else {
            throw LoadError(.descriptorInvalid, path: path, "descriptor.kind of '\(id)' is \(desc.pointee.kind), expected 1-4")
        }
        guard let threading = PluginDescriptor.Threading(rawValue: desc.pointee.threading) else {
            throw LoadError(.descriptorInvalid, path: path, "descriptor.threading of '\(id)' is \(desc.pointee.threading), expected 1-3")
        }
        let missing = [
            ("create", desc.pointee.create == nil), ("destroy", desc.pointee.destroy == nil),
            ("kind_api", desc.pointee.kind_api == nil), ("last_error", desc.pointee.last_error == nil),
        ].filter(\.1).map(\.0)
        guard missing.isEmpty else {
            throw LoadError(.descriptorInvalid, path: path, "descriptor.\(missing[0]) of '\(id)' is NULL but required")
        }
        guard desc.pointee.kind_api_version >= 1 else {
            throw LoadError(.descriptorInvalid, path: path, "descriptor.kind_api_version of '\(id)' is 0, expected >= 1")
        }
        return PluginDescriptor(
            id: id, version: version, kind: kind, kindAPIVersion: desc.pointee.kind_api_version, threading: threading,
            abiMajor: major, abiMinor: minor, capabilities: desc.pointee.caps, structSize: size)
    }

    /// True when `field` lies inside the plugin's declared struct_size and its cap bit is set.
    static func has<T>(_ desc: UnsafePointer<hub_plugin_desc>, _ field: KeyPath<hub_plugin_desc, T>, cap: UInt64) -> Bool {
        guard let offset = MemoryLayout<hub_plugin_desc>.offset(of: field) else { return false }
        return offset + MemoryLayout<T>.size <= Int(desc.pointee.struct_size) && desc.pointee.caps & cap != 0
    }
}

/// One lock per loaded image, for SERIAL_GLOBAL plugins.
final class GlobalGate: Sendable {
    let lock = Mutex<Void>(())
    private static let gates = Mutex<[Int: GlobalGate]>([:])

    static func `for`(_ descriptor: UnsafePointer<hub_plugin_desc>) -> GlobalGate {
        gates.withLock { all in
            let key = Int(bitPattern: descriptor)
            if let gate = all[key] { return gate }
            let gate = GlobalGate()
            all[key] = gate
            return gate
        }
    }
}
