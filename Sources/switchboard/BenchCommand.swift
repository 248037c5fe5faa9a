import ArgumentParser

/// `switchboard bench`: load generators (see BENCHMARKS.md).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks.", subcommands: [BenchRedisCommand.self, BenchLiveCommand.self])
}
