import RedisClient

extension TokenService {
    /// The user's sessions that can still refresh, oldest first; entries of
    /// ended sessions (revoked, or past the refresh TTL) are dropped on the way.
    public func sessions(of user: String, current: String?) async throws(SwitchboardError) -> [SessionInfo] {
        let entries = try await mapRedis { try await redis.send("HGETALL", keys.sessions(user)) }.stringPairs ?? [:]
        let ids = entries.keys.sorted()
        guard !ids.isEmpty else { return [] }
        let revoked = try await mapRedis { try await redis.pipeline(ids.map { RedisCommand("EXISTS", [keys.refreshFamily($0)]) }) }
        let horizon = clock.milliseconds - configuration.refreshTokenTTL * 1000
        var live: [SessionInfo] = []
        var ended: [String] = []
        for (id, flag) in zip(ids, revoked) {
            guard flag.int != 1, var session = entries[id].flatMap(SessionInfo.init(json:)),
                (session.lastUsed ?? session.created) > horizon
            else {
                ended.append(id)
                continue
            }
            session.current = session.id == current
            live.append(session)
        }
        if !ended.isEmpty { _ = try? await redis.execute(RedisCommand("HDEL", [keys.sessions(user)] + ended)) }
        return live.sorted { $0.created != $1.created ? $0.created < $1.created : $0.id < $1.id }
    }

    /// Ends one session of the user: its refresh tokens stop working, and
    /// so do its access tokens (their `sid` is checked). `not_found` when the user has no such session.
    public func endSession(_ id: String, of user: String) async throws(SwitchboardError) {
        guard !id.isEmpty, id.utf8.count <= 64,
            try await mapRedis({ try await redis.send("HEXISTS", keys.sessions(user), id) }).int == 1
        else { throw .notFound("no such session") }
        try await end(id, of: user)
    }

    /// Revokes the family (refresh tokens) and marks the session ended for as
    /// long as an access token of it could still be valid (access tokens).
    private func end(_ id: String, of user: String) async throws(SwitchboardError) {
        try await revoke(family: id)
        _ = try await mapRedis {
            try await redis.pipeline([
                RedisCommand("SET", [keys.endedSession(id), "1", "EX", configuration.accessTokenTTL + configuration.leeway + 60]),
                RedisCommand("HDEL", [keys.sessions(user), id]),
            ])
        }
    }

    /// Ends every session of the user but `keep` (nil: all of them).
    public func endSessions(of user: String, except keep: String?) async throws(SwitchboardError) {
        let ids = try await mapRedis { try await redis.send("HKEYS", keys.sessions(user)) }.array?.compactMap(\.string) ?? []
        for id in ids where id != keep { try await end(id, of: user) }
    }
}
