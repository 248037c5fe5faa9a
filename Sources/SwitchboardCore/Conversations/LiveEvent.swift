import Foundation

/// Server pushes that the domain publishes on pub/sub channels, encoded
/// once as the exact JSON a client receives.
public enum LiveEvent {
    struct ConversationChange: Encodable {
        var ev = "conversation"
        var conversation: Conversation
        var change: String
    }

    struct MembershipChange: Encodable {
        var ev = "conversation"
        var conversation: Conversation
        var change = "updated"
        var members: MemberChanges
    }

    /// `{"ev":"conversation","conversation":…,"change":…}`.
    public static func conversation(_ conversation: Conversation, change: String) -> String {
        encode(ConversationChange(conversation: conversation, change: change))
    }

    /// `{"ev":"conversation","conversation":…,"change":"updated","members":{added, removed, changed}}`
    /// to every member: the conversation without its member list, and what
    /// changed in it (the list itself would be O(members) bytes per member).
    public static func membersChanged(_ conversation: Conversation, _ changes: MemberChanges) -> String {
        var bare = conversation
        bare.members = nil
        bare.unread = nil
        return encode(MembershipChange(conversation: bare, members: changes))
    }

    /// `{"ev":"disconnect"}` on a user's channel: every node closes that
    /// user's sockets with 4003 (server API disconnect and ban). Internal to
    /// the nodes, never forwarded to a client.
    public static let disconnect = #"{"ev":"disconnect"}"#

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static func encode(_ value: some Encodable) -> String {
        String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
