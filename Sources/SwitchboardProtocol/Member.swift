/// A member and their role.
public struct Member: Codable, Sendable, Hashable {
    public var id: String
    public var role: MemberRole
    /// The seq up to which this member has read (their read pointer), so
    /// clients can show "seen by" without waiting for a `read` event.
    public var read: Int?

    public init(id: String, role: MemberRole, read: Int? = nil) {
        self.id = id
        self.role = role
        self.read = read
    }
}
