/// Actions that broadcast to other users, throttled per user with one
/// Redis-side token bucket each (`sb:ratelimit:{<action>:<user>}`), so the
/// budget holds across nodes and transports (REST and WebSocket share it).
public enum ThrottledAction: String, Sendable, CaseIterable {
    /// `typing`, `active: true` and `false` alike.
    case typing
    /// Presence status changes.
    case status
    /// Message edits and deletes.
    case edit
    /// Members added or removed (room joins and leaves included).
    case membership
    /// Conversations created (each one lands in its members' conversation index).
    case create
    /// Reactions added or removed.
    case react
}

extension RateLimiter {
    /// Takes one token of the user's bucket for `action`, or throws
    /// `rate_limited` with the seconds to wait.
    public func throttle(_ action: ThrottledAction, user: String, limits: Limits) async throws(SwitchboardError) {
        try await enforce("\(action.rawValue):\(user)", rule: .perMinute(limits.perMinute(action)))
    }
}

extension Limits {
    /// The per-user budget of an action, per minute (all usable at once).
    public func perMinute(_ action: ThrottledAction) -> Int {
        switch action {
        case .typing: typingPerMinute
        case .status: statusPerMinute
        case .edit: editsPerMinute
        case .membership: membershipChangesPerMinute
        case .create: conversationsPerMinute
        case .react: reactionsPerMinute
        }
    }
}
