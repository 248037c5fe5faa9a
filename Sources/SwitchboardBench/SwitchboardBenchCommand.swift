import ArgumentParser

/// `switchboard-bench`: the load generators of BENCHMARKS.md. An executable
/// of its own, so that the server binary carries none of them (nor their
/// histogram library).
@main
struct SwitchboardBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard-bench",
        abstract: "Load generators for Switchboard: running nodes over WebSocket, and the Redis client against redis-benchmark.",
        subcommands: [BenchLiveCommand.self, BenchRedisCommand.self])
}
