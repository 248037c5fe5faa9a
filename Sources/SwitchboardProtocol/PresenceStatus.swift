/// A user's presence as others see it.
public enum PresenceStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case online
    case away
    case busy
    case offline

    /// The statuses a user may set with the `status` op (offline is the absence of connections).
    public static let settable: [PresenceStatus] = [.online, .away, .busy]
}
