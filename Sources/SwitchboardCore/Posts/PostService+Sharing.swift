import RedisClient
import SwitchboardProtocol

/// Sharing a post into a chat, in the pieces the send path needs: not wired
/// into `send` yet (see docs/redis-layout.md, "Sharing into chats").
extension PostService {
    /// Bytes of post text a shared-post message carries.
    public static let snapshotTextLength = 500

    /// The snapshot a `kind: "post"` message carries; 404 `not_found` for an unknown or deleted post.
    public func snapshot(of id: String) async throws(SwitchboardError) -> PostSnapshot {
        let post = try await post(id: id)
        return PostSnapshot(id: post.id, author: post.author, text: Self.prefix(post.text, bytes: Self.snapshotTextLength), createdAt: post.createdAt)
    }

    /// The first `bytes` bytes of a text, cut back to a character boundary.
    static func prefix(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var result = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > bytes { break }
            result.append(character)
            used += size
        }
        return result
    }

    /// After the message is stored: counts the share and notifies the author
    /// (`post.shared`, coalesced). Returns the new share count.
    @discardableResult
    public func shared(_ id: String, actor: String) async throws(SwitchboardError) -> Int {
        guard Self.isValidID(id) else { throw .notFound("post not found") }
        let reply = try await mapRedis { try await scripts.evaluate("post_share", keys: [keys.post(id)], arguments: ["1"]) }
        let values = reply.array ?? []
        let shares = values.first?.int ?? 0
        if values.count > 1, let author = values[1].string {
            try await notifyAuthor(author, type: "post.shared", post: id, actor: actor)
        }
        return shares
    }

    /// Marks the snapshots of posts deleted since they were shared (one `EXISTS` per distinct post, pipelined).
    public func markDeleted(_ snapshots: [PostSnapshot]) async throws(SwitchboardError) -> [PostSnapshot] {
        let ids = Array(Set(snapshots.map(\.id)))
        guard !ids.isEmpty else { return snapshots }
        let replies = try await mapRedis { try await redis.pipeline(ids.map { RedisCommand("EXISTS", [keys.post($0)]) }) }
        let gone = Set(zip(ids, replies).filter { $0.1.int == 0 }.map(\.0))
        return snapshots.map { snapshot in
            var snapshot = snapshot
            if gone.contains(snapshot.id) {
                snapshot.deleted = true
                snapshot.text = ""
            }
            return snapshot
        }
    }
}
