import ArgumentParser
struct BenchRedisCommand: AsyncParsableCommand { static let configuration = CommandConfiguration(commandName: "redis") }
