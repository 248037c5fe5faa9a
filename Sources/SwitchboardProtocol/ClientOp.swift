/// The `op` of a client command (strings only on the wire).
public enum ClientOp: String, Sendable, Hashable, CaseIterable {
    case auth
    case send
    case edit
    case delete
    case typing
    case read
    case history
    case resume
    case ping
    case status
    case presenceWatch = "presence.watch"
    case presenceUnwatch = "presence.unwatch"
    /// Adds or removes the user's reaction on a message.
    case react
    /// Moves the user's delivered pointer forward.
    case delivered
}
