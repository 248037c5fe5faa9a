import Foundation
import NIOCore
import RedisClient

/// A notification for a user who was offline when something happened.
public struct Notification: Codable, Sendable, Hashable {
    public var id: String
    /// `message` (a direct or group message), `mention` (an `@username` in a
    /// group or room message, also sent to connected members), or
    /// activity on the user's post: `post.liked`, `post.commented`, `post.shared`.
    public var type: String
    /// For `message` and `mention`: the conversation.
    public var conv: String?
    /// For `message` and `mention`: the message as sent.
    public var message: Message?
    public var ts: Int
    /// For `post.*`: the post id.
    public var post: String?
    /// For `post.*`: how many people did it (one entry per post and type, updated in place).
    public var count: Int?
    /// For `post.*`: the newest actors' user ids (at most 5).
    public var actors: [String]?
    /// For `post.*`: "3 people liked your post".
    public var text: String?

    public init(id: String, type: String, conv: String? = nil, message: Message? = nil, ts: Int) {
        self.id = id
        self.type = type
        self.conv = conv
        self.message = message
        self.ts = ts
    }
}

/// Notifications in `sb:notifs:{U}` (sorted set by message time and seq,
/// capped, TTL). Created after a send, off its path: the send is
/// acknowledged first. The jobs of quick sends run concurrently and reach
/// Redis in any order; the sorted set lists them in message order anyway.
///
/// Who gets one is known without reading the members: each direct or group
/// conversation keeps an offline set (`sb:conv:{C}:offline`) that nodes
/// update when a user's first connection opens and last one closes, and the
/// `send` script answers its members. A message to a conversation whose
/// members are all online costs no call here at all.
public struct NotificationService: Sendable {
    let redis: RedisClient
    let scripts: RedisScriptRegistry
    let keys: KeyLayout
    let clock: WallClock
    let configuration: LiveConfiguration

    /// Whether a new message can notify anyone, from what `send` answered:
    /// offline members of a direct or group conversation, or an `@` in a
    /// group or room (mentions notify online members too). Callers start no
    /// task for `messageSent` otherwise (the usual case).
    public static func mayNotify(kind: ConversationKind?, offline: [String], text: String) -> Bool {
        if kind == .room || kind == .group, text.contains("@") { return true }
        return kind != .room && !offline.isEmpty
    }

    /// Stores the notifications of a new message. A `message` notification
    /// for each member without an open connection (`offline`, from the `send`
    /// reply; direct and group conversations) who has not muted the
    /// conversation; `notify` checks each user's sockets again, atomically: a
    /// user who just connected gets none. A `mention` notification for each
    /// member of a group or room named as `@username`, connected or not,
    /// muted or not (`mention.lua` pushes it live to a connected user); a
    /// mentioned member gets no `message` notification besides.
    public func messageSent(
        conversation: String, sender: String, text: String, messageJSON: String, kind: ConversationKind?, offline: [String]
    ) async throws(SwitchboardError) {
        var mentioned: [String] = []
        if kind == .room || kind == .group {
            mentioned = try await mentionedMembers(conversation, text: text).filter { $0 != sender }
        }
        var recipients = kind == .room ? [] : offline.filter { $0 != sender && !mentioned.contains($0) }
        if !recipients.isEmpty {
            let muted =
                try await mapRedis {
                    try await redis.execute(RedisCommand("HMGET", [keys.muted(conversation)] + recipients))
                }.array ?? []
            let now = clock.milliseconds
            recipients = zip(recipients, muted).filter { ($0.1.string.flatMap { Int($0) } ?? 0) <= now }.map(\.0)
        }
        guard !recipients.isEmpty || !mentioned.isEmpty else { return }
        guard let message = try? Message.decode(json: messageJSON) else { return }
        let now = clock.milliseconds
        let time = message.id.split(separator: "-").first.map(String.init) ?? String(message.ts)
        var calls: [RedisScriptRegistry.Call] = []
        if !recipients.isEmpty {
            let json = try Self.encode(
                Notification(id: message.conv + "/" + message.id, type: "message", conv: message.conv, message: message, ts: now))
            calls += recipients.map { user in
                RedisScriptRegistry.Call(
                    "notify", keys: [keys.notifications(user), keys.sockets(user)],
                    arguments: [json, now, configuration.notificationsKept, configuration.notificationTTL, time, message.seq])
            }
        }
        if !mentioned.isEmpty {
            let id = message.conv + "/" + message.id + "/mention"
            let json = try Self.encode(Notification(id: id, type: "mention", conv: message.conv, message: message, ts: now))
            calls += mentioned.map { user in
                RedisScriptRegistry.Call(
                    "mention", keys: [keys.notifications(user), keys.sockets(user), keys.user(user)],
                    arguments: [
                        json, now, configuration.notificationsKept, configuration.notificationTTL, time, message.seq, keys.userChannel(user), id,
                    ])
            }
        }
        _ = try await mapRedis { try await scripts.pipeline(calls) }
    }

    /// The members of a conversation named as `@username` in `text`: one
    /// pipelined `GET` per name, then one `HMGET` of the members.
    func mentionedMembers(_ conversation: String, text: String) async throws(SwitchboardError) -> [String] {
        let names = Self.mentions(in: text)
        guard !names.isEmpty else { return [] }
        let ids = try await mapRedis {
            try await redis.pipeline(names.map { RedisCommand("GET", [keys.username($0)]) })
        }.compactMap(\.string)
        guard !ids.isEmpty else { return [] }
        let roles =
            try await mapRedis {
                try await redis.execute(RedisCommand("HMGET", [keys.members(conversation)] + ids))
            }.array ?? []
        return zip(ids, roles).filter { !$0.1.isNull }.map(\.0)
    }

    static func encode(_ notification: Notification) throws(SwitchboardError) -> String {
        String(decoding: try JSONEncoder().encodeOrThrow(notification), as: UTF8.self)
    }

    /// Lowercased `@username` mentions in a text (valid usernames only, at most 20).
    static func mentions(in text: String) -> [String] {
        var names: [String] = []
        var current: String?
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        for character in text + " " {
            if var name = current {
                if allowed.contains(character) {
                    name.append(character)
                    current = name
                    continue
                }
                let trimmed = name.trimmingCharacters(in: CharacterSet(charactersIn: ".-"))
                if (3...32).contains(trimmed.count) { names.append(trimmed.lowercased()) }
                current = nil
            }
            if character == "@" { current = "" }
        }
        return Array(Set(names)).sorted().prefix(20).map { $0 }
    }

    /// The user's notifications, newest first (by message time, then seq).
    public func list(user: String) async throws(SwitchboardError) -> [Notification] {
        let items = try await mapRedis { try await redis.send("ZREVRANGE", keys.notifications(user), 0, -1) }.array ?? []
        return items.compactMap { $0.string.flatMap(Self.json).flatMap { try? JSONDecoder().decode(Notification.self, from: Data($0.utf8)) } }
    }

    /// The JSON of a stored member `<seq, 20 digits>|<json>`.
    static func json(_ member: String) -> String? {
        let utf8 = member.utf8
        guard utf8.count > 21, utf8[utf8.index(utf8.startIndex, offsetBy: 20)] == UInt8(ascii: "|") else { return nil }
        return String(member.dropFirst(21))
    }

    /// Script calls that remove the notifications of `conversation` for `users`
    /// (the conversation was deleted, or they left it).
    static func dropCalls(keys: KeyLayout, conversation: String, users: [String]) -> [RedisScriptRegistry.Call] {
        users.map { RedisScriptRegistry.Call("drop_notifications", keys: [keys.notifications($0)], arguments: [conversation]) }
    }

    /// Deletes all of the user's notifications.
    public func clear(user: String) async throws(SwitchboardError) {
        _ = try await mapRedis { try await redis.send("DEL", keys.notifications(user)) }
    }

    /// The reads behind `unpushed(pushed:stored:)`: the newest pushed id and
    /// the stored notifications. A connection sends them in the same write as
    /// its `presence_connect` (see `Switchboard.openConnection`).
    func unpushedReads(user: String) -> [RedisCommand] {
        [
            RedisCommand("HGET", [keys.user(user), "pushedNotification"]),
            RedisCommand("ZREVRANGE", [keys.notifications(user), 0, -1]),
        ]
    }

    /// Notifications not yet pushed to a connection, in message order, from
    /// the replies of `unpushedReads` (`pushedNotification` in the user hash
    /// holds the newest pushed id), and the id to mark pushed (`markPushed`)
    /// before pushing them: the newest in the set's order.
    static func unpushed(pushed: String?, stored: RedisValue) -> (notifications: [Notification], newest: String?) {
        // Newest first: everything above the last pushed one is new. Find it
        // in the raw JSON first, so only the new ones are decoded.
        let raw = (stored.array ?? []).compactMap { $0.string.flatMap(Self.json) }
        // (JSONEncoder may write "/" as "\/": look for both spellings.)
        let markers =
            pushed.map { id in
                [#""id":""# + id + "\"", #""id":""# + id.replacingOccurrences(of: "/", with: "\\/") + "\""]
            } ?? []
        let cut = markers.isEmpty ? raw.count : (raw.firstIndex { item in markers.contains { item.contains($0) } } ?? raw.count)
        let fresh = raw[..<cut].compactMap { try? JSONDecoder().decode(Notification.self, from: Data($0.utf8)) }
        let ordered = fresh.sorted {
            ($0.message?.ts ?? $0.ts, $0.conv ?? "", $0.message?.seq ?? 0) < ($1.message?.ts ?? $1.ts, $1.conv ?? "", $1.message?.seq ?? 0)
        }
        return (ordered, fresh.first?.id)
    }

    /// Records the newest pushed notification (`unpushed`'s `newest`): later connections push only newer ones.
    public func markPushed(user: String, newest: String) -> EventLoopFuture<Void> {
        redis.send(RedisCommand("HSET", [keys.user(user), "pushedNotification", newest])).flatMapThrowing { reply in
            if let message = reply.errorMessage { throw SwitchboardError(redis: RedisError.server(message)) }
        }
    }
}

extension JSONEncoder {
    func encodeOrThrow(_ value: some Encodable) throws(SwitchboardError) -> Data {
        do { return try encode(value) } catch { throw SwitchboardError(.internalError, "cannot encode notification") }
    }
}
