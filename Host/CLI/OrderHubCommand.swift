import ArgumentParser

/// `orderhub`: runs the hub and the tools admins and plugin authors use around it.
@main
struct OrderHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orderhub",
        abstract: "A composable order orchestration hub: capability plugins over one C ABI.",
        subcommands: [
            RunCommand.self, CheckCommand.self, PluginCommand.self, ManifestCommand.self, BenchCommand.self, BenchModelCommand.self,
            FeaturesCommand.self, PredictCommand.self, ModelCommand.self, RulesCommand.self,
            DispatchCommand.self, BenchDispatchCommand.self, BenchSwapCommand.self, DevCommand.self, ApplyCommand.self, CanaryCommand.self,
            RollbackCommand.self, TokenCommand.self, AuditCommand.self, PluginHostCommand.self, BenchIsolationCommand.self, BusCommand.self,
        ])
}

/// Exit codes the commands use, so scripts can tell failures apart.
enum ExitCodes {
    static let manifestInvalid: Int32 = 2
    static let pluginRefused: Int32 = 3
    static let runtimeFailure: Int32 = 4
}
