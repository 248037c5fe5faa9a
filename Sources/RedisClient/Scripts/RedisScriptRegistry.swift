import NIOCore
import Synchronization

/// Loads Lua scripts with `SCRIPT LOAD` and calls them with `EVALSHA`.
///
/// When Redis answers `NOSCRIPT` (after `SCRIPT FLUSH` or a restart without
/// persistence of the script cache) the script is loaded again and the call
/// retried once.
public final class RedisScriptRegistry: Sendable {
    private let client: RedisClient
    private let scripts: [String: RedisScript]
    private let hashes = Mutex<[String: String]>([:])

    public init(client: RedisClient, scripts: [RedisScript]) {
        self.client = client
        self.scripts = Dictionary(scripts.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
    }

    /// The names of every script.
    public var names: [String] { scripts.keys.sorted() }

    /// Loads every script (one pipeline) and remembers their SHA1 digests.
    public func loadAll() async throws {
        let ordered = scripts.values.sorted { $0.name < $1.name }
        let replies = try await client.pipeline(ordered.map { RedisCommand("SCRIPT", ["LOAD", $0.source]) })
        var loaded: [String: String] = [:]
        for (script, reply) in zip(ordered, replies) {
            if let message = reply.errorMessage {
                throw RedisError.server("loading script \(script.name): \(message)")
            }
            guard let sha = reply.string else { throw RedisError(code: .protocolError, message: "SCRIPT LOAD answered \(reply)") }
            loaded[script.name] = sha
        }
        hashes.withLock { $0 = loaded }
    }

    /// The SHA1 of a loaded script, for `EVALSHA` inside a pipeline.
    public func sha(_ name: String) -> String? { hashes.withLock { $0[name] } }

    /// One script call of a pipeline.
    public struct Call: Sendable {
        public var name: String
        public var keys: [any RedisArgumentConvertible]
        public var arguments: [any RedisArgumentConvertible]
        public init(_ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]) {
            self.name = name
            self.keys = keys
            self.arguments = arguments
        }
    }

    /// Runs many script calls in one pipeline (one write); replies in order,
    /// error replies inline. When Redis lost its script cache (`NOSCRIPT`),
    /// loads the scripts again and resends the calls that did not run, once.
    public func pipeline(_ calls: [Call]) async throws -> [RedisValue] {
        if hashes.withLock({ $0.count }) < scripts.count { try await loadAll() }
        func commands() -> [RedisCommand] {
            let known = hashes.withLock { $0 }
            return calls.map { call in
                RedisCommand("EVALSHA", [known[call.name] ?? "unknown", call.keys.count] + call.keys + call.arguments)
            }
        }
        var replies = try await client.pipeline(commands())
        let missing = replies.indices.filter { replies[$0].errorMessage?.hasPrefix("NOSCRIPT") == true }
        guard !missing.isEmpty else { return replies }
        // Only the calls that did not run are sent again: on a cluster one
        // shard may have lost its scripts while the others ran theirs.
        try await loadAll()
        let again = commands()
        let retried = try await client.pipeline(missing.map { again[$0] })
        for (index, reply) in zip(missing, retried) { replies[index] = reply }
        return replies
    }

    /// Whether every script is in Redis' script cache now (`SCRIPT EXISTS`).
    /// Whether every script's SHA1 is known here (`loadAll` ran once).
    /// Redis may still have forgotten them: every call handles `NOSCRIPT`.
    public var hashesKnown: Bool { hashes.withLock { $0.count } == scripts.count }

    public func allLoaded() async throws -> Bool {
        let known = hashes.withLock { $0 }
        guard known.count == scripts.count else { return false }
        let reply = try await client.execute(RedisCommand("SCRIPT", ["EXISTS"] + Array(known.values)))
        return reply.array?.allSatisfy { $0.int == 1 } ?? false
    }

    /// Runs a script. Error replies (including the script's own
    /// `redis.error_reply`) come back as `.error`.
    public func evaluate(
        _ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]
    ) -> EventLoopFuture<RedisValue> {
        guard let script = scripts[name] else {
            return client.eventLoop.makeFailedFuture(
                RedisError(code: .server, message: "NOSCRIPT no script named \(name) in the registry"))
        }
        let sha = hashes.withLock { $0[name] }
        let evalArguments: [any RedisArgumentConvertible] = [keys.count] + keys + arguments
        guard let sha else {
            return client.send(RedisCommand("EVAL", [script.source] + evalArguments))
        }
        return client.send(RedisCommand("EVALSHA", [sha] + evalArguments)).flatMap { reply in
            guard let message = reply.errorMessage, message.hasPrefix("NOSCRIPT") else {
                return self.client.eventLoop.makeSucceededFuture(reply)
            }
            return self.client.send(RedisCommand("SCRIPT", ["LOAD", script.source])).flatMap { loaded in
                if let sha = loaded.string, loaded.errorMessage == nil {
                    self.hashes.withLock { $0[name] = sha }
                }
                return self.client.send(RedisCommand("EVALSHA", [loaded.string ?? sha] + evalArguments))
            }
        }
    }

    /// Runs a script and then `command` on the same connection, in the same
    /// write, and answers both replies. For `WAIT`, which counts the replicas
    /// that have the writes of its own connection: sent on another connection
    /// it would wait for nothing (on a cluster both follow redirects together,
    /// see `RedisClient.send(_:followedBy:)`). `NOSCRIPT` loads the script and
    /// sends both again.
    public func evaluate(
        _ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible],
        followedBy command: RedisCommand
    ) -> EventLoopFuture<(script: RedisValue, followUp: RedisValue)> {
        guard let script = scripts[name] else {
            return client.eventLoop.makeFailedFuture(
                RedisError(code: .server, message: "NOSCRIPT no script named \(name) in the registry"))
        }
        let evalArguments: [any RedisArgumentConvertible] = [keys.count] + keys + arguments
        guard let sha = hashes.withLock({ $0[name] }) else {
            return client.send(RedisCommand("EVAL", [script.source] + evalArguments), followedBy: command).map { (script: $0.0, followUp: $0.1) }
        }
        return client.send(RedisCommand("EVALSHA", [sha] + evalArguments), followedBy: command).flatMap { replies in
            guard let message = replies.0.errorMessage, message.hasPrefix("NOSCRIPT") else {
                return self.client.eventLoop.makeSucceededFuture((script: replies.0, followUp: replies.1))
            }
            return self.client.send(RedisCommand("SCRIPT", ["LOAD", script.source])).flatMap { loaded in
                if let sha = loaded.string, loaded.errorMessage == nil {
                    self.hashes.withLock { $0[name] = sha }
                }
                return self.client.send(RedisCommand("EVALSHA", [loaded.string ?? sha] + evalArguments), followedBy: command)
                    .map { (script: $0.0, followUp: $0.1) }
            }
        }
    }

    /// Runs a script and then `commands`, all in one write (on one Redis: on
    /// one connection, in this order, so the commands see the script's
    /// effects), and answers every reply; error replies inline. `NOSCRIPT`
    /// loads the script and sends everything again: the commands must be
    /// safe to repeat.
    public func evaluate(
        _ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible],
        followedBy commands: [RedisCommand]
    ) -> EventLoopFuture<(script: RedisValue, followUps: [RedisValue])> {
        guard let script = scripts[name] else {
            return client.eventLoop.makeFailedFuture(
                RedisError(code: .server, message: "NOSCRIPT no script named \(name) in the registry"))
        }
        let evalArguments: [any RedisArgumentConvertible] = [keys.count] + keys + arguments
        guard let sha = hashes.withLock({ $0[name] }) else {
            return client.pipeline([RedisCommand("EVAL", [script.source] + evalArguments)] + commands).map {
                ($0[0], Array($0.dropFirst()))
            }
        }
        return client.pipeline([RedisCommand("EVALSHA", [sha] + evalArguments)] + commands).flatMap { replies in
            guard let message = replies[0].errorMessage, message.hasPrefix("NOSCRIPT") else {
                return self.client.eventLoop.makeSucceededFuture((replies[0], Array(replies.dropFirst())))
            }
            return self.client.send(RedisCommand("SCRIPT", ["LOAD", script.source])).flatMap { loaded in
                if let sha = loaded.string, loaded.errorMessage == nil {
                    self.hashes.withLock { $0[name] = sha }
                }
                return self.client.pipeline([RedisCommand("EVALSHA", [loaded.string ?? sha] + evalArguments)] + commands)
                    .map { ($0[0], Array($0.dropFirst())) }
            }
        }
    }

    /// Runs a script and throws error replies as `RedisError.server`.
    public func evaluate(
        _ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]
    ) async throws -> RedisValue {
        try await evaluate(name, keys: keys, arguments: arguments).get().throwingError()
    }
}
