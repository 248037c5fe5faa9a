import Foundation
import RedisClient

/// A pinned message, as `GET …/pins` lists it.
public struct PinnedMessage: Codable, Sendable, Hashable {
    /// The message id.
    public var id: String
    /// When it was pinned (unix ms).
    public var at: Int
    /// Who pinned it.
    public var by: String
    /// The message in its current state; absent when retention trimmed it.
    public var message: Message?
}

extension ConversationService {
    /// Pins (`on`) or unpins a message: owner and admins in groups and
    /// rooms, both sides in a direct conversation (`pin.lua`, which publishes
    /// the `pin` event). Answers whether anything changed.
    public func pin(_ id: String, user: String, message: String, on: Bool) async throws(SwitchboardError) -> Bool {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        guard Self.isStreamID(message) else { throw .notFound("message not found") }
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "pin", keys: [keys.conversation(id), keys.members(id), keys.messages(id), keys.edits(id), keys.pins(id)],
                arguments: [
                    id, user, message, on ? "1" : "0", configuration.limits.pinsPerConversation, clock.milliseconds,
                    keys.conversationChannel(id),
                ])
        }
        return reply.array?.first?.int == 1
    }

    /// The conversation's pinned messages, newest pin first, each with the
    /// message in its current state: two round trips (the pins, then the
    /// messages and their overlay).
    public func pins(_ id: String, user: String) async throws(SwitchboardError) -> [PinnedMessage] {
        _ = try await access(id, user: user)
        let pairs = try await mapRedis { try await redis.send("HGETALL", keys.pins(id)) }.stringPairs ?? [:]
        var pins: [PinnedMessage] = pairs.compactMap { messageID, json in
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return nil }
            return PinnedMessage(
                id: messageID, at: (object["at"] as? NSNumber)?.intValue ?? 0, by: object["by"] as? String ?? "", message: nil)
        }
        pins.sort { $0.at != $1.at ? $0.at > $1.at : $0.id > $1.id }
        guard !pins.isEmpty else { return [] }
        let entries = try await mapRedis {
            try await redis.pipeline(pins.map { RedisCommand("XRANGE", [keys.messages(id), $0.id, $0.id]) })
        }
        let found = entries.compactMap { $0.array?.first.flatMap { Message(conversation: id, entry: $0) } }
        let messages = try await applyEdits(id, found)
        let byID = Dictionary(messages.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for index in pins.indices { pins[index].message = byID[pins[index].id] }
        return pins
    }
}
