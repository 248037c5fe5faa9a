import Foundation
import RedisClient
import SwitchboardProtocol

/// What a send carries besides its text, as the `send` script takes it
/// (`ARGV[9]`): the files (already claimed by `FileService.attach`), the
/// message it replies to, the post it shares (a snapshot).
public struct SendExtras: Sendable, Hashable, Encodable {
    public var kind: MessageKind?
    public var attachments: [FileInfo]?
    public var replyTo: String?
    public var post: PostSnapshot?

    public init(attachments: [FileInfo]? = nil, replyTo: String? = nil, post: PostSnapshot? = nil) {
        self.attachments = attachments?.isEmpty == true ? nil : attachments
        self.replyTo = replyTo
        self.post = post
        if let attachments = self.attachments {
            kind = attachments.allSatisfy(\.isImage) ? .image : .file
        } else if post != nil {
            kind = .post
        }
    }

    /// Attachments or a post: the text may then be empty.
    var carriesContent: Bool { attachments != nil || post != nil }

    /// The JSON the script decodes.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

extension ConversationService {
    /// Brings messages read from the stream to their current state, in one
    /// pipeline: edits and deletes (`sb:conv:{C}:edits`), the quotes of
    /// replies whose original was edited or deleted since, reply counts
    /// (`sb:conv:{C}:replies`), reaction counts (`:reactions`), pins
    /// (`:pins`), and shared posts deleted since (`EXISTS`): four `HMGET`s
    /// and one `EXISTS` per distinct shared post, whatever the page size.
    /// History, resume, pins and gap replay all come through here.
    func applyEdits(_ id: String, _ messages: [Message]) async throws(SwitchboardError) -> [Message] {
        guard !messages.isEmpty else { return messages }
        let quoted = Array(Set(messages.compactMap { $0.replyTo?.id }))
        let posts = Array(Set(messages.compactMap { $0.post?.id }))
        var commands = [
            RedisCommand("HMGET", [keys.edits(id)] + messages.map(\.id) + quoted),
            RedisCommand("HMGET", [keys.replyCounts(id)] + messages.map(\.id)),
            RedisCommand("HMGET", [keys.reactions(id)] + messages.map(\.id)),
            RedisCommand("HMGET", [keys.pins(id)] + messages.map(\.id)),
        ]
        commands += posts.map { RedisCommand("EXISTS", [keys.post($0)]) }
        let replies = try await mapRedis { try await redis.pipeline(commands) }
        guard replies.count == commands.count else { throw SwitchboardError(.internalError, "unexpected reply to a history read") }
        let edits = replies[0].array ?? []
        let counts = replies[1].array ?? []
        let reactions = replies[2].array ?? []
        let pins = replies[3].array ?? []
        var quoteEdits: [String: String] = [:]
        for (index, quote) in quoted.enumerated() where messages.count + index < edits.count {
            if let json = edits[messages.count + index].string { quoteEdits[quote] = json }
        }
        let gonePosts = Set(zip(posts, replies.dropFirst(4)).filter { $0.1.int == 0 }.map(\.0))
        var result = messages
        for index in result.indices {
            if index < counts.count, let count = counts[index].string.flatMap({ Int($0) }), count > 0 { result[index].replies = count }
            if let quote = result[index].replyTo, let json = quoteEdits[quote.id] { result[index].replyTo = Self.mark(quote, edit: json) }
            if let post = result[index].post, gonePosts.contains(post.id) {
                result[index].post?.deleted = true
                result[index].post?.text = ""
            }
            if index < edits.count, let json = edits[index].string { result[index].apply(edit: json) }
            if index < reactions.count, result[index].deleted != true, let json = reactions[index].string {
                result[index].apply(reactions: json)
            }
            if index < pins.count, !pins[index].isNull { result[index].pinned = true }
        }
        return result
    }

    /// A quote whose original has an entry in the edits hash: `deleted` (text emptied) or `edited`.
    static func mark(_ quote: ReplyQuote, edit json: String) -> ReplyQuote {
        var quote = quote
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return quote }
        if object["deleted"] as? Bool == true {
            quote.deleted = true
            quote.text = ""
        } else {
            quote.edited = true
        }
        return quote
    }

    /// The replies to one message, oldest first, paged like history
    /// (`before` / `after` a reply's id; without a cursor the newest `limit`).
    public func replies(
        _ id: String, to message: String, user: String, before: String?, after: String?, limit: Int
    ) async throws(SwitchboardError) -> MessagePage {
        _ = try await access(id, user: user)
        guard Self.isStreamID(message) else { throw .notFound("message not found") }
        func bound(_ cursor: String, name: String) throws(SwitchboardError) -> String {
            guard let parts = Self.streamID(cursor) else { throw .invalid("\(name) must be a message id") }
            return "(" + Self.threadMember(message, ms: parts.ms, n: parts.seq)
        }
        let low = try after.map { cursor throws(SwitchboardError) in try bound(cursor, name: "after") } ?? "[\(message)|"
        let high = try before.map { cursor throws(SwitchboardError) in try bound(cursor, name: "before") } ?? "[\(message)|\u{7F}"
        let newestFirst = after == nil
        let command =
            newestFirst
            ? RedisCommand("ZREVRANGEBYLEX", [keys.thread(id), high, low, "LIMIT", 0, limit + 1])
            : RedisCommand("ZRANGEBYLEX", [keys.thread(id), low, high, "LIMIT", 0, limit + 1])
        let members = try await mapRedis { try await redis.execute(command) }.array?.compactMap(\.string) ?? []
        var ids = members.prefix(limit).compactMap(Self.replyID(fromThreadMember:))
        if newestFirst { ids.reverse() }
        guard !ids.isEmpty else { return MessagePage(messages: [], more: false) }
        let entries = try await mapRedis { try await redis.pipeline(ids.map { RedisCommand("XRANGE", [keys.messages(id), $0, $0]) }) }
        let messages = entries.compactMap { $0.array?.first }.compactMap { Message(conversation: id, entry: $0) }
        return MessagePage(messages: try await applyEdits(id, messages), more: members.count > limit)
    }

    /// `<original>|<ms, 15 digits>-<n, 10 digits>`: sorts a message's replies by their stream ids.
    static func threadMember(_ original: String, ms: UInt64, n: UInt64) -> String {
        let msText = String(ms)
        let nText = String(n)
        return original + "|" + String(repeating: "0", count: max(0, 15 - msText.count)) + msText + "-"
            + String(repeating: "0", count: max(0, 10 - nText.count)) + nText
    }

    /// The reply's stream id from a thread member.
    static func replyID(fromThreadMember member: String) -> String? {
        guard let bar = member.lastIndex(of: "|") else { return nil }
        let parts = member[member.index(after: bar)...].split(separator: "-")
        guard parts.count == 2, let ms = UInt64(parts[0]), let n = UInt64(parts[1]) else { return nil }
        return "\(ms)-\(n)"
    }
}
