import Foundation
import NIOCore
import RedisClient

/// A page of history.
public struct MessagePage: Sendable, Hashable {
    /// Oldest first.
    public var messages: [Message]
    /// Older messages exist (or, with `after`, newer ones).
    public var more: Bool
}

/// The outcome of a send, decoded.
public struct SendResult: Sendable, Hashable {
    public var message: Message
    /// What the script answered (the message as JSON text, whom to notify).
    public var raw: RawSendResult
    /// False when the nonce was seen before: the first message is answered,
    /// nothing was stored or broadcast.
    public var created: Bool { raw.created }
}

extension ConversationService {
    /// Checks what a send carries: the text (see `validateText`) and the nonce
    /// (1 to `limits.nonceBytes` bytes).
    func validateSend(text: String, nonce: String?, extras: SendExtras? = nil) throws(SwitchboardError) {
        if !(text.isEmpty && extras?.carriesContent == true) { try validateText(text) }
        if let nonce {
            try configuration.limits.check(nonce, .nonce)
            if nonce.isEmpty { throw .invalid("nonce: 1 to \(configuration.limits.nonceBytes) bytes") }
        }
    }

    /// Checks a message text: at most the configured bytes and characters
    /// (`too_large`), not blank. REST and the WebSocket `send`/`edit` ops all
    /// come through here.
    func validateText(_ text: String) throws(SwitchboardError) {
        try configuration.limits.check(text, .messageText)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .invalid("text must not be empty") }
    }

    /// `sendRaw` with the message decoded (for callers that need it as a value, like REST).
    public func send(
        _ id: String, from user: String, text: String, nonce: String?, origin: String = "", extras: SendExtras? = nil
    ) async throws(SwitchboardError) -> SendResult {
        let raw = try await mapRedis { try await sendRaw(id, from: user, text: text, nonce: nonce, origin: origin, extras: extras).get() }
        return SendResult(message: try Message.decode(raw.messageJSON), raw: raw)
    }

    /// Moves the user's read pointer forward (clamped to the newest seq); answers unread.
    public func markRead(_ id: String, user: String, seq: Int) async throws(SwitchboardError) -> Int {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        guard seq >= 0 else { throw .invalid("seq must be a non-negative integer") }
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "read", keys: [keys.conversation(id), keys.members(id), keys.readPointers(id)],
                arguments: [id, user, seq, keys.conversationChannel(id)], events: events.forReads)
        }
        return reply.array?.first?.int ?? 0
    }

    /// Edits a message's text (author only).
    public func edit(_ id: String, user: String, message: String, text: String, origin: String = "") async throws(SwitchboardError) -> Message {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        guard Self.isStreamID(message) else { throw .notFound("message not found") }
        try validateText(text)
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "edit", keys: [keys.conversation(id), keys.members(id), keys.messages(id), keys.edits(id)],
                arguments: [id, user, message, text, clock.milliseconds, keys.conversationChannel(id), origin], events: events)
        }
        return try Message.decode(reply.string ?? "")
    }

    /// Deletes a message (author, or admin/owner): it keeps its id and seq with empty text.
    public func deleteMessage(_ id: String, user: String, message: String, origin: String = "") async throws(SwitchboardError) -> Message {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        guard Self.isStreamID(message) else { throw .notFound("message not found") }
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "delete", keys: [keys.conversation(id), keys.members(id), keys.messages(id), keys.edits(id)],
                arguments: [id, user, message, clock.milliseconds, keys.conversationChannel(id), origin], events: events)
        }
        return try Message.decode(reply.string ?? "")
    }

    /// Whether `text` is a stream id Redis accepts: `<ms>-<seq>`, each 1–20
    /// ASCII digits within UInt64 (`Character.isNumber` would let `½` and
    /// `٣` through, and 20 nines overflow: Redis then fails the command).
    static func isStreamID(_ text: String) -> Bool { streamID(text) != nil }

    /// The two parts of a stream id, or nil (see `isStreamID`).
    static func streamID(_ text: String) -> (ms: UInt64, seq: UInt64)? {
        let parts = text.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 20, part.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                let number = UInt64(String(decoding: part, as: UTF8.self))
            else { return nil }
            numbers.append(number)
        }
        return (numbers[0], numbers[1])
    }

    /// A page of history, oldest first: the newest `limit` without a cursor,
    /// those before `before`, or those after `after`. Edited and deleted
    /// messages show their current state.
    public func history(
        _ id: String, user: String, before: String?, after: String?, limit: Int
    ) async throws(SwitchboardError) -> MessagePage {
        let (conversation, _) = try await access(id, user: user)
        return try await page(id, before: before, after: after, limit: limit, epoch: conversation.epoch)
    }

    /// History without an access check (the caller checked it). `epoch`
    /// (the conversation's) goes on every message: the stream holds one
    /// epoch's messages only, since deleting the conversation deletes it.
    public func page(
        _ id: String, before: String?, after: String?, limit: Int, epoch: String? = nil
    ) async throws(SwitchboardError) -> MessagePage {
        let beforeID = try before.map { text throws(SwitchboardError) in
            guard let id = Self.streamID(text) else { throw .invalid("before must be a message id") }
            return id
        }
        let afterID = try after.map { text throws(SwitchboardError) in
            guard let id = Self.streamID(text) else { throw .invalid("after must be a message id") }
            return id
        }
        // Nothing lies after the largest id or before 0-0 (Redis refuses those exclusive bounds).
        if let afterID, afterID == (UInt64.max, UInt64.max) { return MessagePage(messages: [], more: false) }
        if afterID == nil, let beforeID, beforeID == (0, 0) { return MessagePage(messages: [], more: false) }
        let command: RedisCommand
        let newestFirst: Bool
        if let after {
            command = RedisCommand("XRANGE", [keys.messages(id), "(" + after, "+", "COUNT", limit + 1])
            newestFirst = false
        } else if let before {
            command = RedisCommand("XREVRANGE", [keys.messages(id), "(" + before, "-", "COUNT", limit + 1])
            newestFirst = true
        } else {
            command = RedisCommand("XREVRANGE", [keys.messages(id), "+", "-", "COUNT", limit + 1])
            newestFirst = true
        }
        let entries = try await mapRedis { try await redis.execute(command) }.array ?? []
        var messages = entries.prefix(limit).compactMap { Message(conversation: id, entry: $0, epoch: epoch) }
        if newestFirst { messages.reverse() }
        messages = try await applyEdits(id, messages)
        return MessagePage(messages: messages, more: entries.count > limit)
    }

    /// Messages with seq greater than `seq`, oldest first (for resume and
    /// gap replay). More than `limit` of them, or some dropped by retention:
    /// `complete` is false and the newest `limit` come back (the client
    /// reloads history). `epoch` as in `page`.
    public func messages(
        after seq: Int, in id: String, limit: Int, epoch: String? = nil
    ) async throws(SwitchboardError) -> (messages: [Message], complete: Bool) {
        // Seq and stream order agree: page back from the newest entry until seq is reached.
        var collected: [Message] = []
        var end = "+"
        var reachedStart = false
        pages: while collected.count <= limit {
            let page = min(limit + 1 - collected.count, 500)
            let entries =
                try await mapRedis {
                    try await redis.send("XREVRANGE", keys.messages(id), end, "-", "COUNT", page)
                }.array ?? []
            for entry in entries {
                guard let message = Message(conversation: id, entry: entry, epoch: epoch) else { continue }
                if message.seq <= seq {
                    reachedStart = true
                    break pages
                }
                collected.append(message)
                end = "(" + message.id
            }
            if entries.count < page { break }
        }
        let overflow = collected.count > limit
        var messages = Array(collected.prefix(limit).reversed())
        let contiguous = messages.first.map { $0.seq == seq + 1 } ?? true
        let complete = !overflow && contiguous && (reachedStart || messages.first?.seq == seq + 1 || messages.isEmpty)
        messages = try await applyEdits(id, messages)
        return (messages, complete)
    }
}

/// A send as the script answered it, the message still as JSON text.
public struct RawSendResult: Sendable, Hashable {
    public var messageJSON: String
    public var created: Bool
    /// The conversation's kind (when created).
    public var kind: ConversationKind?
    /// Members without a live connection but the sender (when created; empty for rooms).
    public var offline: [String] = []
}

extension ConversationService {
    /// Stores and broadcasts a message in one script call: membership check,
    /// nonce de-duplication, seq, XADD with retention, last message, the
    /// sender's read pointer and the PUBLISH. The one place that calls the
    /// `send` script (WebSocket and REST): no Task, and the message JSON
    /// passed through as the script wrote it.
    /// With `extras` (attachments, a reply, a shared post: see
    /// `ConversationService+Rich.swift`) the script gets three more keys and
    /// their JSON; a text send passes neither.
    public func sendRaw(
        _ id: String, from user: String, text: String, nonce: String?, origin: String, extras: SendExtras? = nil
    ) -> EventLoopFuture<RawSendResult> {
        let eventLoop = redis.eventLoop
        guard Self.isValidID(id) else { return eventLoop.makeFailedFuture(SwitchboardError.notFound("conversation not found")) }
        do {
            try validateSend(text: text, nonce: nonce, extras: extras)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        let nonceKey = keys.nonce(id, user: user, nonce: nonce ?? "")
        var baseKeys: [String] = [
            keys.conversation(id), keys.members(id), keys.messages(id), keys.readPointers(id), nonceKey, keys.offline(id),
        ]
        var baseArguments: [any RedisArgumentConvertible] = [
            id, user, text, clock.milliseconds, nonce ?? "", configuration.retention, keys.conversationChannel(id), origin,
        ]
        if let extras {
            baseKeys += [keys.edits(id), keys.replyCounts(id), keys.thread(id)]
            baseArguments.append(extras.json)
        }
        let scriptKeys = events.keys(baseKeys)
        let arguments = events.arguments(baseArguments)
        let stored: EventLoopFuture<RedisValue>
        let wanted = configuration.redisWaitReplicas
        if wanted > 0 {
            // WAIT on the script's own connection, in the same write: one round
            // trip, answered once `wanted` replicas have the message (or after the timeout).
            let shortfall = self.replicationShortfall
            let clock = self.clock
            stored = scripts.evaluate(
                "send", keys: scriptKeys, arguments: arguments,
                followedBy: RedisCommand("WAIT", [wanted, configuration.redisWaitTimeout])
            ).map { replies in
                if replies.script.errorMessage == nil, let replicas = replies.followUp.int, replicas < wanted {
                    shortfall.record(replicas: replicas, wanted: wanted, now: clock.milliseconds)
                }
                return replies.script
            }
        } else {
            stored = scripts.evaluate("send", keys: scriptKeys, arguments: arguments)
        }
        return stored.flatMapErrorThrowing { error in
            throw SwitchboardError(redis: error)
        }.flatMapThrowing { reply in
            if let message = reply.errorMessage { throw SwitchboardError(redis: RedisError.server(message)) }
            guard let parts = reply.array, parts.count >= 2, let json = parts[1].string else {
                throw SwitchboardError(.internalError, "unexpected reply from send")
            }
            let (kind, offline) = Self.notificationTargets(parts)
            return RawSendResult(messageJSON: json, created: parts[0].int == 1, kind: kind, offline: offline)
        }
    }

    /// The kind and the offline members from a `send` reply `{1, json, kind, offline}`.
    static func notificationTargets(_ parts: [RedisValue]) -> (kind: ConversationKind?, offline: [String]) {
        guard parts.count == 4 else { return (nil, []) }
        return (parts[2].string.flatMap(ConversationKind.init(rawValue:)), parts[3].array?.compactMap(\.string) ?? [])
    }
}
