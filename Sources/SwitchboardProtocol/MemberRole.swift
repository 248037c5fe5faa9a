/// A member's role in a group or room (a direct conversation's members are equals).
public enum MemberRole: String, Codable, Sendable, Hashable, CaseIterable {
    case owner
    case admin
    case member
}
