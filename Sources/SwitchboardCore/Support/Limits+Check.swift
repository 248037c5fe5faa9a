/// A text field whose size `Limits` bounds.
public enum LimitedField: String, Sendable, CaseIterable {
    case messageText = "text"
    case displayName
    case bio
    case avatar
    case conversationName = "name"
    case description
    case username
    case password
    case nonce
}

extension Limits {
    /// The bounds of a field: UTF-8 bytes, and characters where they are capped too.
    public func bounds(of field: LimitedField) -> (bytes: Int, characters: Int?) {
        switch field {
        case .messageText: return (messageBytes, messageLength)
        case .displayName: return (displayNameBytes, displayNameLength)
        case .bio: return (bioBytes, bioLength)
        case .avatar: return (avatarBytes, nil)
        case .conversationName: return (conversationNameBytes, conversationNameLength)
        case .description: return (descriptionBytes, descriptionLength)
        case .username: return (usernameBytes, nil)
        case .password: return (passwordBytes, nil)
        case .nonce: return (nonceBytes, nil)
        }
    }

    /// Throws `too_large` when `value` is over the field's byte or character
    /// limit. Bytes are checked first (O(1) for native strings), so
    /// characters are counted only over a bounded text. The one size check of
    /// every REST route and WebSocket op.
    public func check(_ value: String, _ field: LimitedField) throws(SwitchboardError) {
        let (bytes, characters) = bounds(of: field)
        guard value.utf8.count <= bytes else {
            throw SwitchboardError(.tooLarge, "\(field.rawValue): at most \(bytes) bytes (UTF-8)")
        }
        if let characters, value.count > characters {
            throw SwitchboardError(.tooLarge, "\(field.rawValue): at most \(characters) characters")
        }
    }
}
