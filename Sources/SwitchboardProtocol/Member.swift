/// A member and their role (`owner`, `admin`, `member`).
public struct Member: Codable, Sendable, Hashable {
    public var id: String
    public var role: MemberRole

    public init(id: String, role: MemberRole) {
        self.id = id
        self.role = role
    }
}
