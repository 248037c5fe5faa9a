import RedisClient

extension AccountService {
    /// Checks a user's password (`unauthorized` when wrong, `forbidden` for a user without one).
    public func verifyPassword(_ id: String, _ password: String) async throws(SwitchboardError) {
        let stored = try await mapRedis { try await redis.send("HGET", keys.user(id), "password") }.string
        guard let stored else { throw .forbidden("this account has no password: it signs in through the app") }
        let matches = await Self.offLoop { hasher.verify(password, against: stored) }
        guard matches else { throw SwitchboardError(.unauthorized, "wrong password") }
    }

    /// Stores a new password hash (the caller checked the current one).
    func setPassword(_ id: String, _ password: String) async throws(SwitchboardError) {
        try Self.validateNewPassword(password, limits: limits)
        let hash = await Self.offLoop { hasher.hash(password) }
        _ = try await mapRedis { try await redis.send("HSET", keys.user(id), "password", hash) }
    }
}
