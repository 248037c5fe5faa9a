import Foundation
import RedisClient

/// A notification for a user who was offline when something happened.
public struct Notification: Codable, Sendable, Hashable {
    public var id: String
    /// `message` (a direct or group message, or an @mention in a room).
    public var type: String
    public var conv: String
    public var message: Message
    public var ts: Int
}

/// Notifications in `sb:notifications:{U}` (list, newest first, capped, TTL).
/// Created after a send, off its path: the send is acknowledged first.
public struct NotificationService: Sendable {
    let redis: RedisClient
    let scripts: RedisScriptRegistry
    let keys: KeyLayout
    let clock: WallClock
    let configuration: LiveConfiguration

    /// Stores a notification for each member without an open connection:
    /// every other member of a direct or group conversation, and in a room
    /// only the members mentioned as `@username`. One pipeline.
    public func messageSent(_ message: Message) async throws(SwitchboardError) {
        let replies = try await mapRedis {
            try await redis.pipeline([
                RedisCommand("HGET", [keys.conversation(message.conv), "kind"]),
                RedisCommand("HKEYS", [keys.members(message.conv)]),
            ])
        }
        guard let kind = replies[0].string else { return }
        let members = Set(replies[1].array?.compactMap(\.string) ?? [])
        var recipients: [String]
        if kind == "room" {
            let names = Self.mentions(in: message.text)
            guard !names.isEmpty else { return }
            let ids = try await mapRedis {
                try await redis.pipeline(names.map { RedisCommand("GET", [keys.username($0)]) })
            }.compactMap(\.string)
            recipients = ids.filter { members.contains($0) }
        } else {
            recipients = Array(members)
        }
        recipients.removeAll { $0 == message.from }
        guard !recipients.isEmpty else { return }
        let notification = Notification(
            id: message.conv + "/" + message.id, type: "message", conv: message.conv, message: message, ts: clock.milliseconds)
        let json = String(decoding: try JSONEncoder().encodeOrThrow(notification), as: UTF8.self)
        let now = clock.milliseconds
        let calls = recipients.map { user in
            RedisScriptRegistry.Call(
                "notify", keys: [keys.notifications(user), keys.sockets(user)],
                arguments: [json, now, configuration.notificationsKept, configuration.notificationTTL])
        }
        _ = try await mapRedis { try await scripts.pipeline(calls) }
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

    /// The user's notifications, newest first.
    public func list(user: String) async throws(SwitchboardError) -> [Notification] {
        let items = try await mapRedis { try await redis.send("LRANGE", keys.notifications(user), 0, -1) }.array ?? []
        return items.compactMap { $0.string.flatMap { try? JSONDecoder().decode(Notification.self, from: Data($0.utf8)) } }
    }

    /// Deletes all of the user's notifications.
    public func clear(user: String) async throws(SwitchboardError) {
        _ = try await mapRedis { try await redis.send("DEL", keys.notifications(user)) }
    }

    /// Notifications not yet pushed to a connection, oldest first; marks them pushed.
    public func takeUnpushed(user: String) async throws(SwitchboardError) -> [Notification] {
        let replies = try await mapRedis {
            try await redis.pipeline([
                RedisCommand("HGET", [keys.user(user), "notifiedAt"]),
                RedisCommand("LRANGE", [keys.notifications(user), 0, -1]),
            ])
        }
        let since = replies[0].int ?? 0
        let items = (replies[1].array ?? []).compactMap {
            $0.string.flatMap { try? JSONDecoder().decode(Notification.self, from: Data($0.utf8)) }
        }
        let fresh = items.filter { $0.ts > since }
        if let newest = fresh.map(\.ts).max() {
            _ = try await mapRedis { try await redis.send("HSET", keys.user(user), "notifiedAt", newest) }
        }
        return fresh.reversed()
    }
}

extension JSONEncoder {
    func encodeOrThrow(_ value: some Encodable) throws(SwitchboardError) -> Data {
        do { return try encode(value) } catch { throw SwitchboardError(.internalError, "cannot encode notification") }
    }
}
