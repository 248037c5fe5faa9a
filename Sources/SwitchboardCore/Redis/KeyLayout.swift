/// The one place that knows every Redis key and channel name.
///
/// `{U}` and `{C}` are hash tags: all keys of one user or one conversation
/// live in one cluster slot. See docs/redis-layout.md.
public struct KeyLayout: Sendable, Hashable {
    /// Prefix of every key and channel (default `sb:`).
    public let prefix: String

    public init(prefix: String = "sb:") { self.prefix = prefix }

    // Users
    public func user(_ id: String) -> String { "\(prefix)user:{\(id)}" }
    public func username(_ lowercased: String) -> String { "\(prefix)username:\(lowercased)" }
    public func userConversations(_ id: String) -> String { "\(prefix)user:{\(id)}:convs" }
    /// Sorted set of `lowercase name:id`, all scores 0, for prefix search (extension).
    public var usernameIndex: String { "\(prefix)usernames" }
    public func refreshToken(_ hash: String) -> String { "\(prefix)refresh:\(hash)" }
    public func refreshFamily(_ family: String) -> String { "\(prefix)refresh-family:\(family)" }
    public var jwtSigningKey: String { "\(prefix)jwt:key" }
    /// Hash of the user's sessions: refresh-token family → `SessionInfo` JSON (extension).
    public func sessions(_ id: String) -> String { "\(prefix)user:{\(id)}:sessions" }
    /// Set when a user ends a session (password change, `DELETE /auth/sessions/{id}`): its
    /// access tokens (`sid`) are refused while they could still be valid (extension).
    public func endedSession(_ family: String) -> String { "\(prefix)session-ended:\(family)" }
    public func rateLimit(_ bucket: String) -> String { "\(prefix)ratelimit:{\(bucket)}" }

    // Conversations
    public func conversation(_ id: String) -> String { "\(prefix)conv:{\(id)}" }
    public func members(_ id: String) -> String { "\(prefix)conv:{\(id)}:members" }
    public func joined(_ id: String) -> String { "\(prefix)conv:{\(id)}:joined" }
    public func messages(_ id: String) -> String { "\(prefix)conv:{\(id)}:msgs" }
    public func edits(_ id: String) -> String { "\(prefix)conv:{\(id)}:edits" }
    public func readPointers(_ id: String) -> String { "\(prefix)conv:{\(id)}:read" }
    /// Set of members without a live connection (direct and group), read by
    /// `send` to know who gets a notification (extension).
    public func offline(_ id: String) -> String { "\(prefix)conv:{\(id)}:offline" }
    public func nonce(_ conversation: String, user: String, nonce: String) -> String {
        "\(prefix)conv:{\(conversation)}:nonce:\(user):\(nonce)"
    }
    /// Sorted set of `lowercase name<U+001F>id` of public rooms, all scores 0 (extension).
    public var roomIndex: String { "\(prefix)rooms" }

    // Live state
    public func presence(_ user: String) -> String { "\(prefix)presence:{\(user)}" }
    public func sockets(_ user: String) -> String { "\(prefix)sockets:{\(user)}" }
    /// Sorted set of a user's notifications, by message time then seq (`notify.lua`).
    /// (Was the list `notifications:{U}` before issue 12; those expire by their TTL.)
    public func notifications(_ user: String) -> String { "\(prefix)notifs:{\(user)}" }
    public func node(_ id: String) -> String { "\(prefix)node:\(id)" }
    /// Sorted set of node ids by last heartbeat (ms), to find dead nodes (extension).
    public var nodes: String { "\(prefix)nodes" }
    /// Users with connections on a node, for cleaning up after it dies (extension).
    public func nodeUsers(_ id: String) -> String { "\(prefix)node:\(id):users" }
    /// Claimed by the one node that cleans up after a dead node (extension).
    public func nodeSweep(_ id: String) -> String { "\(prefix)node:\(id):sweep" }

    // Events
    /// The event stream of every state change, for the app's backend (extension).
    public var events: String { "\(prefix)events" }
    /// On Redis Cluster, the event stream of the scripts of one hash slot
    /// (`EventSlotTags`): `sb:events:{<tag>}` (extension).
    public func events(slot: Int) -> String { EventStream.name(base: events, slot: slot) }
    /// Which part of a key a per-slot stream name has after `events`, for
    /// `SCAN MATCH` and for telling them from `events:dead` (extension).
    public var perSlotEventsPrefix: String { "\(prefix)events:{" }
    /// Events a webhook could not deliver after every attempt (extension).
    public var deadEvents: String { "\(prefix)events:dead" }
    /// Held by the one node that delivers webhooks now (extension).
    public var webhookLease: String { "\(prefix)events:webhook-lease" }
    /// On Redis Cluster, the stream id from which webhooks deliver (`ms-0`, kept) (extension).
    public var webhookSince: String { "\(prefix)events:webhook-since" }

    // Channels
    public func conversationChannel(_ id: String) -> String { "\(prefix)live:conv:{\(id)}" }
    public func userChannel(_ id: String) -> String { "\(prefix)live:user:{\(id)}" }
    public func presenceChannel(_ id: String) -> String { "\(prefix)live:presence:{\(id)}" }
    /// New posts of read-time authors, published once for every node (`PostService.fanOut`).
    public var postsChannel: String { "\(prefix)live:posts" }
}
