import RedisClient

extension Switchboard {
    /// Changes the password and ends every other session of the user
    /// (their refresh and access tokens stop working).
    public func changePassword(user: String, session: String?, current: String, new: String) async throws(SwitchboardError) {
        try AccountService.validateNewPassword(new, limits: configuration.limits)
        try await accounts.verifyPassword(user, current)
        try await accounts.setPassword(user, new)
        try await tokens.endSessions(of: user, except: session)
    }

    /// Deletes an account: the user leaves every conversation (an owner's
    /// leaving hands ownership over), every session ends, their keys go
    /// (`delete_user.lua`, which emits `user.deleted`), the username is
    /// free again and their sockets close. Messages stay with their id.
    public func deleteAccount(user: String, password: String) async throws(SwitchboardError) {
        try await accounts.verifyPassword(user, password)
        let conversationIDs =
            try await mapRedis { try await redis.send("SMEMBERS", keys.userConversations(user)) }
            .array?.compactMap(\.string) ?? []
        for id in conversationIDs.sorted() {
            do {
                try await conversations.removeMember(id, actor: user, target: user)
            } catch  where error.code == .notFound || error.code == .notMember {
                continue  // a stale index entry
            }
        }
        try await tokens.endSessions(of: user, except: nil)
        let username = try await mapRedis {
            try await scripts.evaluate(
                "delete_user",
                keys: [keys.user(user), keys.userConversations(user), keys.sessions(user), keys.notifications(user)],
                arguments: [user, clock.milliseconds], events: events)
        }.string
        if let username {
            let lower = username.lowercased()
            _ = try? await scripts.evaluate("release_claim", keys: [keys.username(lower)], arguments: [user])
            _ = try? await redis.send("ZREM", keys.usernameIndex, "\(lower):\(user)")
        }
        try await accounts.disconnect(user)
    }
}
