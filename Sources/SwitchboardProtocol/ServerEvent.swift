/// The `ev` of an event the hub pushes (strings only on the wire).
public enum ServerEvent: String, Sendable, Hashable, CaseIterable {
    /// A new message (live, or replayed by `resume`).
    case message
    case messageEdited = "message.edited"
    case messageDeleted = "message.deleted"
    case typing
    case read
    /// The user was added to, removed from, or saw a change of a conversation.
    case conversation
    case presence
    case notification
    /// A user the recipient follows created a post.
    case post
    /// A reaction was added to or removed from a message.
    case reaction
    /// A message was pinned or unpinned.
    case pin
    /// A member's delivered pointer moved (direct and group conversations).
    case delivered
    /// A frame that could not become a command (not JSON, no `id`).
    case error
}
