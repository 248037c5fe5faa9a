/// What changed in a conversation's member list: sent with a `conversation`
/// event (`change: "updated"`) instead of the whole list, so a join in a
/// room of n members costs each member a few bytes, not n entries.
public struct MemberChanges: Codable, Sendable, Hashable {
    /// New members, with their role.
    public var added: [Member]
    /// Ids of members who left or were removed.
    public var removed: [String]
    /// Members whose role changed (an ownership hand-over included).
    public var changed: [Member]

    public init(added: [Member] = [], removed: [String] = [], changed: [Member] = []) {
        self.added = added
        self.removed = removed
        self.changed = changed
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // (Lua's cjson writes an empty list as {}: read anything unreadable as empty.)
        added = (try? container.decodeIfPresent([Member].self, forKey: .added)) ?? []
        removed = (try? container.decodeIfPresent([String].self, forKey: .removed)) ?? []
        changed = (try? container.decodeIfPresent([Member].self, forKey: .changed)) ?? []
    }

    /// Applies the changes to a member list (join order kept; new members last).
    public func apply(to members: [Member]) -> [Member] {
        let gone = Set(removed)
        var roles: [String: MemberRole] = [:]
        for member in changed { roles[member.id] = member.role }
        var result: [Member] = []
        var seen = Set<String>()
        for var member in members where !gone.contains(member.id) {
            if let role = roles[member.id] { member.role = role }
            result.append(member)
            seen.insert(member.id)
        }
        for member in added where !seen.contains(member.id) && !gone.contains(member.id) {
            result.append(member)
            seen.insert(member.id)
        }
        return result
    }
}
