/// Whether and how a user is reachable.
public struct Presence: Codable, Sendable, Hashable {
    public var status: PresenceStatus
    /// Unix ms of the last disconnect; nil for a user who never connected.
    public var lastSeen: Int?

    public init(status: PresenceStatus, lastSeen: Int?) {
        self.status = status
        self.lastSeen = lastSeen
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(lastSeen, forKey: .lastSeen)  // explicit null, as the contract shows
    }
}
