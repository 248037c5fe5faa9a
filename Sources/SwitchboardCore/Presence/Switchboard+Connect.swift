import NIOCore
import RedisClient

/// What a connection's first authentication found and did in Redis.
public struct OpenedConnection: Sendable {
    public var user: User
    /// The ids of the user's conversations.
    public var conversations: [String]
    /// The user's open connections on every node, this one included.
    public var connections: Int
    /// Notifications stored while the user was offline and not pushed yet, in message order.
    public var unpushed: [Notification]
    /// The id to record with `NotificationService.markPushed` before pushing `unpushed`.
    public var newestUnpushed: String?

    public init(user: User, conversations: [String], connections: Int, unpushed: [Notification] = [], newestUnpushed: String? = nil) {
        self.user = user
        self.conversations = conversations
        self.connections = connections
        self.unpushed = unpushed
        self.newestUnpushed = newestUnpushed
    }
}

extension Switchboard {
    /// A WebSocket connection's first authentication, as futures that a
    /// session chains on its event loop (no Swift task): two writes to Redis.
    /// First the user hash, the conversation ids and whether the token's
    /// session was ended (one pipeline); then `presence_connect` followed, in
    /// the same write, by the user's connection count, the node's user list,
    /// the conversations' offline sets and the reads of the unpushed
    /// notifications. Answers nil for an unknown user; fails with `banned`,
    /// `unauthorized` (ended session) or the Redis error.
    public func openConnection(user id: String, session: String?, member: String) -> EventLoopFuture<OpenedConnection?> {
        let (presence, notifications) = (self.presence, self.notifications)
        return accounts.userWithConversations(id: id, session: session).flatMap { found -> EventLoopFuture<OpenedConnection?> in
            guard let (user, conversations) = found else { return self.redis.eventLoop.makeSucceededFuture(nil) }
            return presence.connect(
                user: user.id, member: member, conversations: conversations, followedBy: notifications.unpushedReads(user: user.id)
            ).map { connected -> OpenedConnection? in
                let fresh = NotificationService.unpushed(pushed: connected.followUps[0].string, stored: connected.followUps[1])
                return OpenedConnection(
                    user: user, conversations: conversations, connections: connected.connections,
                    unpushed: fresh.notifications, newestUnpushed: fresh.newest)
            }
        }
    }
}
