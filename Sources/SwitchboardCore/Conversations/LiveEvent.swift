import Foundation

/// Server pushes that the domain publishes on pub/sub channels, encoded
/// once as the exact JSON a client receives.
public enum LiveEvent {
    struct ConversationChange: Encodable {
        var ev = "conversation"
        var conversation: Conversation
        var change: String
    }

    /// `{"ev":"conversation","conversation":…,"change":…}`.
    public static func conversation(_ conversation: Conversation, change: String) -> String {
        encode(ConversationChange(conversation: conversation, change: change))
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
