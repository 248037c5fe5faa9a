import Foundation
import RedisClient

/// What a `react` changed.
public struct ReactionResult: Sendable, Hashable {
    /// False when the user's reaction already was (or already was not) there.
    public var changed: Bool
    /// How many users reacted with this emoji now.
    public var count: Int
}

/// A page of the users who reacted with one emoji.
public struct ReactorPage: Sendable, Hashable {
    public var users: [String]
    /// The cursor of the next page (`after`), nil on the last one.
    public var next: String?
}

extension ConversationService {
    /// Whether `text` is one emoji: a single grapheme cluster of at most
    /// `maxBytes` UTF-8 bytes, made of emoji scalars (and the joiners,
    /// variation selectors, keycaps and tags that build emoji sequences), with
    /// emoji presentation (`👍`, `🇫🇷`, `❤️`, `1️⃣`; not `1`, `#` or `©` alone).
    public static func isEmoji(_ text: String, maxBytes: Int = 32) -> Bool {
        guard !text.isEmpty, text.utf8.count <= maxBytes, text.count == 1 else { return false }
        var presentation = false
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x200D: continue  // zero width joiner
            case 0xFE0F, 0x20E3: presentation = true  // emoji variation selector, keycap
            case 0xE0020...0xE007F: continue  // tags (subdivision flags)
            default:
                guard scalar.properties.isEmoji else { return false }
                if scalar.properties.isEmojiPresentation { presentation = true }
            }
        }
        return presentation
    }

    /// Adds (`on`) or removes the user's `emoji` reaction on a message: one
    /// script call (`react.lua`), which publishes the `reaction` event.
    public func react(
        _ id: String, user: String, message: String, emoji: String, on: Bool, origin: String = ""
    ) async throws(SwitchboardError) -> ReactionResult {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        guard Self.isStreamID(message) else { throw .notFound("message not found") }
        guard Self.isEmoji(emoji) else { throw .invalid("emoji: one emoji (a single grapheme, at most 32 bytes)") }
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "react",
                keys: [keys.conversation(id), keys.members(id), keys.messages(id), keys.edits(id), keys.reactions(id), keys.reactors(id)],
                arguments: [
                    id, user, message, emoji, on ? "1" : "0", configuration.limits.reactionsPerMessage, keys.conversationChannel(id), origin,
                ])
        }
        let parts = reply.array ?? []
        return ReactionResult(changed: parts.first?.int == 1, count: parts.count > 1 ? parts[1].int ?? 0 : 0)
    }

    /// Who reacted to a message with `emoji`, by user id, `limit` at a time
    /// after the cursor `after` (a user id from the previous page).
    public func reactors(
        _ id: String, user: String, message: String, emoji: String, after: String?, limit: Int
    ) async throws(SwitchboardError) -> ReactorPage {
        _ = try await access(id, user: user)
        guard Self.isStreamID(message) else { throw .notFound("message not found") }
        guard Self.isEmoji(emoji) else { throw .invalid("emoji: one emoji (a single grapheme, at most 32 bytes)") }
        let prefix = message + "\u{1F}" + emoji + "\u{1F}"
        let lower = after.map { "(" + prefix + $0 } ?? ("[" + prefix)
        // Exclusive upper bound: the prefix with its last separator raised by one.
        let upper = "(" + message + "\u{1F}" + emoji + "\u{20}"
        let members =
            try await mapRedis {
                try await redis.send("ZRANGEBYLEX", keys.reactors(id), lower, upper, "LIMIT", 0, limit + 1)
            }.array?.compactMap(\.string) ?? []
        let users = members.prefix(limit).map { String($0.dropFirst(prefix.count)) }
        return ReactorPage(users: users, next: members.count > limit ? users.last : nil)
    }
}
