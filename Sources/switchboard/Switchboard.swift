import ArgumentParser

/// The `switchboard` command: serve a node, and tools around it.
@main
struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "A real-time chat hub whose state lives in Redis.",
        subcommands: [ServeCommand.self, EventsCommand.self, BenchCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
