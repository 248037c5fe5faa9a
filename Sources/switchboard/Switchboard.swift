import ArgumentParser

/// The `switchboard` command: serve a node. (The load generators are a
/// separate executable, `switchboard-bench`.)
@main
struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "A real-time chat hub whose state lives in Redis.",
        subcommands: [ServeCommand.self, EventsCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
