/// What a reply carries of the message it answers (`replyTo`): taken when
/// the reply was sent (the first 200 bytes of the text, cut at a character
/// boundary). If the original is edited later the quote keeps its text and
/// says `edited: true`; if it is deleted, `deleted: true` with empty text.
public struct ReplyQuote: Codable, Sendable, Hashable {
    /// The original message's id.
    public var id: String
    /// Its author.
    public var from: String
    public var text: String
    public var edited: Bool?
    public var deleted: Bool?

    public init(id: String, from: String, text: String, edited: Bool? = nil, deleted: Bool? = nil) {
        self.id = id
        self.from = from
        self.text = text
        self.edited = edited
        self.deleted = deleted
    }
}
