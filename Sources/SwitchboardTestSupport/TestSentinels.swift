import Foundation
import RedisClient

/// A master, one replica and three sentinels (quorum 2, down after 1 s) on
/// loopback, for failover tests. With `tls`, every one of them listens on a
/// TLS port only, and replication and the sentinels' own links use TLS too
/// (`tls-replication yes`).
public struct TestSentinels: Sendable {
    public static let masterName = "sbmaster"
    public let master: TestRedisServer
    public let replica: TestRedisServer
    public let sentinels: [TestRedisServer]

    public static func start(tls: TestRedisServer.TLS? = nil) async throws -> TestSentinels {
        let master = try TestRedisServer(tls: tls)
        try await master.start()
        let replica = try TestRedisServer(tls: tls, role: .replica(ofPort: master.port))
        try await replica.start()
        var sentinels: [TestRedisServer] = []
        for _ in 0..<3 {
            let sentinel = try TestRedisServer(
                tls: tls,
                role: .sentinel(
                    masterPort: master.port, name: masterName, quorum: 2, downAfterMilliseconds: 1000,
                    failoverTimeoutMilliseconds: 3000))
            try await sentinel.start()
            sentinels.append(sentinel)
        }
        let setup = TestSentinels(master: master, replica: replica, sentinels: sentinels)
        try await setup.waitUntilReady()
        return setup
    }

    /// Until the replica is in sync and every sentinel knows the replica and the other two sentinels
    /// (they find each other through the master's hello channel, every 2 s).
    public func waitUntilReady() async throws {
        for _ in 0..<300 {
            var ready = (try? await replica.command("INFO", "replication").string?.contains("master_link_status:up")) == true
            for sentinel in sentinels where ready {
                let replicas = try await sentinel.command("SENTINEL", "REPLICAS", Self.masterName).array?.count ?? 0
                let others = try await sentinel.command("SENTINEL", "SENTINELS", Self.masterName).array?.count ?? 0
                ready = replicas == 1 && others == 2
            }
            if ready { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw TestSupportError("sentinels did not converge")
    }

    /// The sentinels as `--redis-sentinel` takes them.
    public var addresses: String { sentinels.map(\.hostPort).joined(separator: ",") }

    /// The master the sentinels name now.
    public func masterPort() async throws -> Int? {
        let reply = try await sentinels[0].command("SENTINEL", "get-master-addr-by-name", Self.masterName)
        return reply.array?.last?.string.flatMap { Int($0) }
    }

    /// The failover is over: every sentinel names the replica as master and
    /// the replica says it is one. (One sentinel's view can move first; an
    /// old master restarted before the rest agree can win the address back.)
    public func failoverComplete() async throws -> Bool {
        for sentinel in sentinels {
            let reply = try await sentinel.command("SENTINEL", "get-master-addr-by-name", Self.masterName)
            guard reply.array?.last?.string.flatMap({ Int($0) }) == replica.port else { return false }
        }
        return try await replica.command("ROLE").array?.first?.string == "master"
    }

    /// Starts the killed master again, empty, as the replica of the promoted
    /// one (`--replicaof`) with `--replica-priority 0`.
    ///
    /// Started as a plain master (as the drill did until 2026-12-03), it
    /// stays one until the sentinels convert it (they read a replica's role by
    /// `INFO`, every 10 s, and wait 8 s more), and meanwhile they list it as
    /// the new master's only replica. A second failover in that window picks
    /// it, since a master's `INFO` has no `slave_priority` or
    /// `master_link_down_since_seconds` to rule it out: the empty old master
    /// wins the address back and the promoted replica resyncs from it. That
    /// second failover needs no load: right after `+switch-master` a
    /// sentinel's new link to the new master may not have its first PONG
    /// within `down-after-milliseconds` (1 s here, Sentinel's own ping
    /// period), and the other sentinels' "master down" answers about the dead
    /// master still count, so +sdown is +odown at once and the failover starts
    /// (seen by hand: +sdown 1.03 s after +switch-master, -sdown 74 ms later,
    /// the restarted master selected). As a replica with priority 0 it has the
    /// data within a second and is never picked (`-failover-abort-no-good-slave`).
    public func restartOldMasterAsReplica() async throws {
        master.extraArguments = ["--replicaof", "127.0.0.1", "\(replica.port)", "--replica-priority", "0"]
        try await master.start()
    }

    /// The last lines of every instance's log, labelled, for the report of a failed drill.
    public func logs(_ lines: Int = 40) -> String {
        var text = ""
        for (label, server) in [("master", master), ("replica", replica)] + sentinels.enumerated().map({ ("sentinel \($0.offset)", $0.element) }) {
            text += "--- \(label) :\(server.port)\n" + server.logTail(lines) + "\n"
        }
        return text
    }

    public func stop() async {
        for sentinel in sentinels { sentinel.kill() }
        replica.kill()
        master.kill()
    }
}
