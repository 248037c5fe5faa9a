/// What a `RedisSubscriber` reports.
public enum RedisPubSubEvent: Sendable, Hashable {
    /// A message published on a channel (`PUBLISH`) or a shard channel (`SPUBLISH`, `sharded: true`).
    case message(channel: String, payload: [UInt8], sharded: Bool)
    /// A message matching a `PSUBSCRIBE` pattern.
    case patternMessage(pattern: String, channel: String, payload: [UInt8])
    /// The subscriber connection is up and every subscription is active again.
    /// `gap` is true after a reconnect: messages published while it was down were missed.
    case connected(gap: Bool)
    /// The subscriber connection dropped; it reconnects by itself.
    case disconnected(reason: String)
}

/// The three subscription families of Redis.
public enum RedisSubscriptionKind: Sendable, Hashable, CaseIterable {
    /// `SUBSCRIBE` / `UNSUBSCRIBE`.
    case channel
    /// `SSUBSCRIBE` / `SUNSUBSCRIBE` (sharded pub/sub, Redis 7).
    case shard
    /// `PSUBSCRIBE` / `PUNSUBSCRIBE`.
    case pattern

    var subscribeCommand: String {
        switch self {
        case .channel: return "SUBSCRIBE"
        case .shard: return "SSUBSCRIBE"
        case .pattern: return "PSUBSCRIBE"
        }
    }

    var unsubscribeCommand: String {
        switch self {
        case .channel: return "UNSUBSCRIBE"
        case .shard: return "SUNSUBSCRIBE"
        case .pattern: return "PUNSUBSCRIBE"
        }
    }

    init?(confirmation: String) {
        switch confirmation {
        case "subscribe": self = .channel
        case "ssubscribe": self = .shard
        case "psubscribe": self = .pattern
        default: return nil
        }
    }
}
