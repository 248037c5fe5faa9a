import Foundation
import RedisClient

extension ConversationService {
    /// Mutes the conversation's message notifications for the user until
    /// `until` (unix ms); 0 or a past time unmutes. Mentions still notify.
    /// Answers the conversation as the user sees it (with `mutedUntil`).
    public func mute(_ id: String, user: String, until: Int) async throws(SwitchboardError) -> Conversation {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        guard until >= 0, until < 100_000_000_000_000 else { throw .invalid("until: unix milliseconds, 0 to unmute") }
        _ = try await mapRedis {
            try await scripts.evaluate(
                "mute", keys: [keys.conversation(id), keys.members(id), keys.muted(id)], arguments: [user, until, clock.milliseconds])
        }
        return try await get(id, user: user)
    }

    /// `mutedUntil` from a `muted` hash reply: the time when still ahead, else nil.
    func mutedUntil(_ reply: RedisValue) -> Int? {
        guard let until = reply.int ?? reply.string.flatMap({ Int($0) }), until > clock.milliseconds else { return nil }
        return until
    }
}
