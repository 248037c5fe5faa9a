import ArgumentParser
import Foundation
import RedisClient
import SwitchboardCore

/// `switchboard events`: the event stream, for operators.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Read the event stream (sb:events).", subcommands: [EventsTailCommand.self])
}

/// `switchboard events tail [--group G]`: prints events as JSON lines, one per event, with its stream id.
struct EventsTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print events as JSON lines ({\"id\",\"type\",\"ts\",\"data\"}) as they are appended.",
        discussion: """
            Without --group, prints what is appended from now on (or, with --from-start, everything the
            stream holds first) and changes nothing in Redis. With --group, reads as a consumer of that
            consumer group (created at the stream's end if missing) and acknowledges each event once
            printed: several tails of one group share the events, each printed once.
            """)

    @Option(help: "Redis URL (env SWITCHBOARD_REDIS_URL).")
    var redisURL: String = env("SWITCHBOARD_REDIS_URL") ?? "redis://127.0.0.1:6379"

    @Option(help: "Prefix of every Redis key (env SWITCHBOARD_PREFIX).")
    var prefix: String = env("SWITCHBOARD_PREFIX") ?? "sb:"

    @Option(help: "Read as a consumer of this consumer group, acknowledging what is printed.")
    var group: String?

    @Option(help: "Consumer name within the group (default: tail-<host>-<pid>).")
    var consumer: String?

    @Flag(help: "Start at the oldest event the stream holds (a new group is created there too).")
    var fromStart = false

    @Option(help: "Exit after this many events (default: run until interrupted).")
    var count: Int?

    func run() async throws {
        var configuration = try RedisConfiguration(url: redisURL)
        configuration.poolSize = 1  // blocking reads hold the connection
        configuration.clientName = "switchboard-events-tail"
        let redis = RedisClient(configuration: configuration)
        let reader = EventReader(redis: redis, stream: KeyLayout(prefix: prefix).events)
        let consumer = consumer ?? "tail-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        if let group { try await reader.createGroup(group, start: fromStart ? "0" : "$") }
        var last = fromStart ? "0" : "$"
        var printed = 0
        while count.map({ printed < $0 }) ?? true {
            let limit = min(100, count.map { $0 - printed } ?? 100)
            let entries: [EventEntry]
            if let group {
                entries = try await reader.read(group: group, consumer: consumer, count: limit, blockMilliseconds: 2000)
            } else {
                entries = try await reader.read(after: last, count: limit, blockMilliseconds: 2000)
            }
            if !entries.isEmpty {
                FileHandle.standardOutput.write(Data(entries.map { $0.line + "\n" }.joined().utf8))
                last = entries.last!.id
            }
            if let group { try await reader.acknowledge(group: group, ids: entries.map(\.id)) }
            printed += entries.count
        }
        await redis.shutdown()
    }
}
