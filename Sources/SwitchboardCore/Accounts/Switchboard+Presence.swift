import RedisClient

extension Switchboard {
    /// A user's presence from `sb:presence:{U}`: `offline` when the key is
    /// gone (expired or never set), with `lastSeen` kept in the user hash.
    public func presence(of userID: String) async throws(SwitchboardError) -> Presence {
        let replies = try await mapRedis {
            try await redis.pipeline([
                RedisCommand("HGET", [keys.presence(userID), "status"]),
                RedisCommand("HGET", [keys.user(userID), "lastSeen"]),
            ])
        }
        let status = replies[0].string ?? "offline"
        return Presence(status: status, lastSeen: replies[1].int)
    }
}
