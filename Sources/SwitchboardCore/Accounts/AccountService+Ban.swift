import RedisClient

extension AccountService {
    /// Bans a user until `until` (ms; nil: until lifted). Their tokens,
    /// refresh tokens and logins are refused with `banned`; the caller closes
    /// their sockets (`disconnect`).
    public func ban(_ id: String, until: Int?, reason: String?) async throws(SwitchboardError) {
        guard Self.isUsableID(id) else { throw .notFound("no such user") }
        if let reason, reason.count > 500 { throw .invalid("reason: at most 500 characters") }
        _ = try await mapRedis {
            try await scripts.evaluate(
                "ban", keys: [keys.user(id)], arguments: [id, "ban", clock.milliseconds, until ?? 0, reason ?? ""], events: events)
        }
    }

    /// Lifts a ban (nothing happens for a user who is not banned).
    public func unban(_ id: String) async throws(SwitchboardError) {
        guard Self.isUsableID(id) else { throw .notFound("no such user") }
        _ = try await mapRedis {
            try await scripts.evaluate("ban", keys: [keys.user(id)], arguments: [id, "unban", clock.milliseconds], events: events)
        }
    }

    /// Throws `banned` when the user is banned now, and `unauthorized` when
    /// `session` (an access token's `sid`) was ended: one round trip.
    public func requireNotBanned(_ id: String, session: String? = nil) async throws(SwitchboardError) {
        guard Self.isUsableID(id) else { return }
        var commands = [RedisCommand("HMGET", [keys.user(id), "bannedUntil", "banReason"])]
        if let session { commands.append(RedisCommand("EXISTS", [keys.endedSession(session)])) }
        let replies = try await mapRedis { try await redis.pipeline(commands) }
        if replies.count > 1, replies[1].int == 1 { throw SwitchboardError(.unauthorized, "this session was ended") }
        let fields = replies[0].array ?? []
        var hash: [String: String] = [:]
        if let until = fields.first?.string { hash["bannedUntil"] = until }
        if fields.count > 1, let reason = fields[1].string { hash["banReason"] = reason }
        try Self.requireNotBanned(hash, now: clock.milliseconds)
    }

    /// Throws `banned` when a user hash carries a ban that has not run out.
    static func requireNotBanned(_ hash: [String: String], now: Int) throws(SwitchboardError) {
        guard let until = hash["bannedUntil"].flatMap({ Int($0) }) else { return }
        guard until == 0 || until > now else { return }
        let reason = hash["banReason"].flatMap { $0.isEmpty ? nil : $0 }
        throw SwitchboardError(.banned, "this account is banned" + (reason.map { ": \($0)" } ?? ""))
    }

    static func isUsableID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && !id.contains("{") && !id.contains("}")
    }

    /// Closes every socket of the user on every node (close code 4003): a
    /// `disconnect` event on the user's channel, acted on by each node's hub
    /// and never forwarded to clients.
    public func disconnect(_ id: String) async throws(SwitchboardError) {
        guard Self.isUsableID(id) else { throw .notFound("no such user") }
        _ = try await mapRedis { try await redis.send(publishCommand, keys.userChannel(id), LiveEvent.disconnect) }
    }
}
