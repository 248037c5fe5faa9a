import Foundation
import RedisClient

/// Who got and who read one message, from the members' delivered and read
/// pointers (`GET …/messages/{id}/receipts`).
public struct Receipts: Sendable, Hashable {
    /// Members (but the author) whose delivered or read pointer reached the
    /// message (reading implies delivery), by id.
    public var delivered: [String]
    /// Members (but the author) whose read pointer reached the message.
    public var read: [String]
}

extension ConversationService {
    /// Moves the user's delivered pointer forward (clamped to the newest seq);
    /// answers the pointer. `delivered.lua` publishes the `delivered` event
    /// in direct and group conversations.
    public func markDelivered(_ id: String, user: String, seq: Int) async throws(SwitchboardError) -> Int {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        guard seq >= 0 else { throw .invalid("seq must be a non-negative integer") }
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "delivered", keys: [keys.conversation(id), keys.members(id), keys.deliveredPointers(id)],
                arguments: [id, user, seq, keys.conversationChannel(id)])
        }
        return reply.int ?? 0
    }

    /// The receipts of one message: one pipelined round trip for the message,
    /// the members and both pointer hashes, after the access check.
    public func receipts(_ id: String, user: String, message: String) async throws(SwitchboardError) -> (Receipts, ConversationKind) {
        let (conversation, _) = try await access(id, user: user)
        guard Self.isStreamID(message) else { throw .notFound("message not found") }
        let replies = try await mapRedis {
            try await redis.pipeline([
                RedisCommand("XRANGE", [keys.messages(id), message, message]),
                RedisCommand("HKEYS", [keys.members(id)]),
                RedisCommand("HGETALL", [keys.deliveredPointers(id)]),
                RedisCommand("HGETALL", [keys.readPointers(id)]),
            ])
        }
        guard let entry = replies[0].array?.first, let found = Message(conversation: id, entry: entry) else {
            throw .notFound("message not found")
        }
        let members = (replies[1].array?.compactMap(\.string) ?? []).filter { $0 != found.from }.sorted()
        let delivered = replies[2].stringPairs ?? [:]
        let read = replies[3].stringPairs ?? [:]
        func reached(_ pointers: [String: String], _ member: String) -> Bool {
            (pointers[member].flatMap { Int($0) } ?? 0) >= found.seq
        }
        let readers = members.filter { reached(read, $0) }
        let receivers = members.filter { reached(delivered, $0) || reached(read, $0) }
        return (Receipts(delivered: receivers, read: readers), conversation.kind)
    }
}
