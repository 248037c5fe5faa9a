import NIOCore
import SwitchboardProtocol

/// What a `send` may carry besides text, as the client wrote it.
public struct SendOptions: Sendable, Hashable {
    /// Ids of the sender's own uploads (at most `FileService.maxAttachments`).
    public var attachments: [String] = []
    /// The id of the message this one answers (same conversation).
    public var replyTo: String?
    /// The id of a post to share.
    public var post: String?

    public init(attachments: [String] = [], replyTo: String? = nil, post: String? = nil) {
        self.attachments = attachments
        self.replyTo = replyTo
        self.post = post
    }

    /// Nothing but text: the one-call send path.
    public var isPlain: Bool { attachments.isEmpty && replyTo == nil && post == nil }
}

extension Switchboard {
    /// A send with attachments, a reply or a shared post (REST and WebSocket).
    /// Before the `send` script: the files are claimed (`file_attach`, one
    /// pipeline; a member can fetch them as soon as the message arrives) or
    /// the post's snapshot is read (both live in other hash slots than the
    /// conversation). After it: a shared post's `shares` is counted.
    public func sendRich(
        _ conversation: String, from user: String, text: String, nonce: String?, origin: String, options: SendOptions
    ) async throws(SwitchboardError) -> RawSendResult {
        guard ConversationService.isValidID(conversation) else { throw .notFound("conversation not found") }
        if !options.attachments.isEmpty, options.post != nil { throw .invalid("a message shares a post or carries attachments, not both") }
        if let replyTo = options.replyTo, !ConversationService.isStreamID(replyTo) { throw .notFound("replied-to message not found") }
        var snapshot: PostSnapshot?
        if let post = options.post { snapshot = try await posts.snapshot(of: post) }
        var attached: [FileInfo]?
        if !options.attachments.isEmpty {
            attached = try await files.attach(options.attachments, user: user, conversation: conversation)
        }
        let extras = SendExtras(attachments: attached, replyTo: options.replyTo, post: snapshot)
        let raw = try await mapRedis {
            try await conversations.sendRaw(conversation, from: user, text: text, nonce: nonce, origin: origin, extras: extras).get()
        }
        if raw.created, let post = options.post {
            // The message is stored; a post deleted meanwhile only misses its count.
            _ = try? await posts.shared(post, actor: user)
        }
        return raw
    }

    /// `sendRich` with the message decoded (REST).
    public func sendRichMessage(
        _ conversation: String, from user: String, text: String, nonce: String?, options: SendOptions
    ) async throws(SwitchboardError) -> SendResult {
        let raw = try await sendRich(conversation, from: user, text: text, nonce: nonce, origin: "", options: options)
        return SendResult(message: try Message.decode(raw.messageJSON), raw: raw)
    }
}
