import HubCore
import Hummingbird

/// The request context of every hub route: Hummingbird's core storage plus who is calling,
/// set by AccessMiddleware once the bearer token is checked.
public struct HubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller, or `AccessControl.anonymous` in open mode.
    public var principal: AccessControl.Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        principal = nil
    }

    /// Name recorded on timelines and in the audit log.
    var actor: String { principal?.name ?? "api" }
}
