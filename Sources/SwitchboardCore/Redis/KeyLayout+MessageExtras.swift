/// Keys of reactions, pins, delivery receipts and mutes (issue 15), all
/// under the conversation's `{C}` hash tag. See docs/redis-layout.md.
extension KeyLayout {
    /// Hash messageId → `{"👍":3,…}` JSON: the reaction counts of each message.
    public func reactions(_ id: String) -> String { "\(prefix)conv:{\(id)}:reactions" }
    /// Sorted set of `messageId<U+001F>emoji<U+001F>userId`, all scores 0: who reacted.
    public func reactors(_ id: String) -> String { "\(prefix)conv:{\(id)}:reactors" }
    /// Hash messageId → `{"at":ms,"by":userId}`: the pinned messages.
    public func pins(_ id: String) -> String { "\(prefix)conv:{\(id)}:pins" }
    /// Hash userId → seq: each member's delivered pointer (like `readPointers`).
    public func deliveredPointers(_ id: String) -> String { "\(prefix)conv:{\(id)}:delivered" }
    /// Hash userId → ms: members who muted the conversation, until when.
    public func muted(_ id: String) -> String { "\(prefix)conv:{\(id)}:muted" }

    /// The five keys above in the order `delete_conversation` and
    /// `remove_member` take them (KEYS[8…12]).
    public func messageExtras(_ id: String) -> [String] {
        [reactions(id), reactors(id), pins(id), deliveredPointers(id), muted(id)]
    }
}
