/// What a message carries. Extensible: later kinds (attachments, shared
/// posts, system messages) must not break older clients.
public struct MessageKind: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static let text = MessageKind(rawValue: "text")
    /// Sent by the app's backend through the server API, `from: "system"`.
    public static let system = MessageKind(rawValue: "system")
    /// Carries `attachments`, all of them images.
    public static let image = MessageKind(rawValue: "image")
    /// Carries `attachments`, not all of them images.
    public static let file = MessageKind(rawValue: "file")
    /// Carries a shared `post` (a snapshot).
    public static let post = MessageKind(rawValue: "post")

    public var description: String { rawValue }
}
