import RedisClient

extension Switchboard {
    /// A user's presence from `sb:presence:{U}`: `offline` when the key is
    /// gone (expired or never set), with `lastSeen` kept in the user hash.
    public func presence(of userID: String) async throws(SwitchboardError) -> Presence {
        try await presence.presence(of: [userID])[userID] ?? Presence(status: .offline, lastSeen: nil)
    }
}
