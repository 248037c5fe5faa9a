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

    @Option(
        help: """
            Redis Cluster seed nodes, host:port,host:port (env SWITCHBOARD_REDIS_CLUSTER): reads the \
            per-slot streams sb:events:{tag}, each line naming its stream.
            """)
    var redisCluster: String? = env("SWITCHBOARD_REDIS_CLUSTER")

    @Option(help: "PEM file of the CA that signed Redis' certificate, for rediss:// (env SWITCHBOARD_REDIS_CA_FILE).")
    var redisCAFile: String? = env("SWITCHBOARD_REDIS_CA_FILE")

    @Option(help: "Name Redis' certificate must carry, and the SNI sent (env SWITCHBOARD_REDIS_TLS_SERVER_NAME).")
    var redisTLSServerName: String? = env("SWITCHBOARD_REDIS_TLS_SERVER_NAME")

    @Option(help: "PEM client certificate for Redis servers that require one (env SWITCHBOARD_REDIS_CERT_FILE).")
    var redisCertFile: String? = env("SWITCHBOARD_REDIS_CERT_FILE")

    @Option(help: "PEM private key of --redis-cert-file (env SWITCHBOARD_REDIS_KEY_FILE).")
    var redisKeyFile: String? = env("SWITCHBOARD_REDIS_KEY_FILE")

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

    func validate() throws {
        let tls = redisCAFile != nil || redisTLSServerName != nil || redisCertFile != nil || redisKeyFile != nil
        if tls, !redisURL.lowercased().hasPrefix("rediss://") {
            throw ValidationError(
                "--redis-ca-file, --redis-tls-server-name, --redis-cert-file and --redis-key-file need a rediss:// --redis-url"
                    + " (with --redis-cluster, --redis-url rediss:// is enough: the host is not used)")
        }
        if (redisCertFile == nil) != (redisKeyFile == nil) {
            throw ValidationError("--redis-cert-file and --redis-key-file go together")
        }
    }

    func run() async throws {
        var configuration = try RedisConfiguration(url: redisURL)
        if configuration.tls != nil {
            configuration.tls = RedisTLSConfiguration(
                caFile: redisCAFile, serverName: redisTLSServerName, certificateFile: redisCertFile, keyFile: redisKeyFile)
        }
        configuration.poolSize = 1  // blocking reads hold the connection
        configuration.clientName = "switchboard-events-tail"
        if let redisCluster {
            configuration.cluster = RedisClusterConfiguration(seeds: try RedisClusterConfiguration.addresses(redisCluster))
            configuration.database = 0
        }
        let redis = RedisClient(configuration: configuration)
        let consumer = consumer ?? "tail-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        if redisCluster != nil {
            try await tailPerSlot(redis, consumer: consumer)
            await redis.shutdown()
            return
        }
        let reader = EventReader(redis: redis, stream: KeyLayout(prefix: prefix).events)
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

    /// On a cluster: the per-slot streams, found every 2 s (`EventStreamLocator`)
    /// and read in turn without blocking. The streams there at the start
    /// begin at their end (or, with --from-start, their oldest entry); a
    /// stream found later is new, so it is read from its first entry.
    private func tailPerSlot(_ redis: RedisClient, consumer: String) async throws {
        let locator = EventStreamLocator(redis: redis, keys: KeyLayout(prefix: prefix), perSlot: true)
        var readers: [EventReader] = []
        var positions: [String: String] = [:]
        var discovered: ContinuousClock.Instant?
        var printed = 0
        while count.map({ printed < $0 }) ?? true {
            if discovered.map({ ContinuousClock.now - $0 > .seconds(2) }) ?? true {
                let atStart = discovered == nil
                for stream in try await locator.streams() where positions[stream] == nil {
                    let reader = EventReader(redis: redis, stream: stream)
                    var start = "0-0"
                    if atStart, !fromStart {
                        // Its newest entry: what comes after it is new.
                        start = try await redis.send("XREVRANGE", stream, "+", "-", "COUNT", 1).array?.first?.array?.first?.string ?? "0-0"
                    }
                    if let group { try await reader.createGroup(group, start: start) }
                    positions[stream] = start
                    readers.append(reader)
                }
                discovered = .now
            }
            var found = false
            for reader in readers {
                let limit = count.map { min(100, $0 - printed) } ?? 100
                guard limit > 0 else { break }
                let entries: [EventEntry]
                if let group {
                    entries = try await reader.read(group: group, consumer: consumer, count: limit)
                } else {
                    entries = try await reader.read(after: positions[reader.stream] ?? "0-0", count: limit)
                }
                guard let last = entries.last else { continue }
                found = true
                FileHandle.standardOutput.write(Data(entries.map { $0.line(stream: reader.stream) + "\n" }.joined().utf8))
                positions[reader.stream] = last.id
                if let group { try await reader.acknowledge(group: group, ids: entries.map(\.id)) }
                printed += entries.count
            }
            if !found { try await Task.sleep(nanoseconds: 200_000_000) }
        }
    }
}
