/// Keys of uploads and of replies (see docs/redis-layout.md, "Files" and "Replies").
extension KeyLayout {
    /// Hash of one upload's metadata: id, name, type, size, owner, createdAt (TTL a day until attached).
    public func file(_ id: String) -> String { "\(prefix)file:{\(id)}" }
    /// Set of the conversations with a message that carries the file.
    public func fileConversations(_ id: String) -> String { "\(prefix)file:{\(id)}:convs" }
    /// Hash of a conversation's reply counts: message id → replies.
    public func replyCounts(_ conversation: String) -> String { "\(prefix)conv:{\(conversation)}:replies" }
    /// Sorted set (score 0, ordered by member) of a conversation's replies:
    /// `<original id>|<reply ms, 15 digits>-<reply n, 10 digits>`.
    public func thread(_ conversation: String) -> String { "\(prefix)conv:{\(conversation)}:thread" }
}
