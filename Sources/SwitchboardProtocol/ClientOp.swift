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
}
