/// What a conversation is: two people, an invited group, or a joinable room.
public enum ConversationKind: String, Codable, Sendable, Hashable, CaseIterable {
    case direct
    case group
    case room
}
