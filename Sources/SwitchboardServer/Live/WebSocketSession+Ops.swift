import CoreMetrics
import Foundation
import Logging
import NIOCore
import RedisClient
import SwitchboardCore

extension WebSocketSession {
    /// Runs one command; the future holds the reply's fields as JSON members
    /// (without braces), or fails with the error to answer.
    func dispatch(_ command: ClientCommand) -> EventLoopFuture<String> {
        guard let name = command.fields["op"] as? String else {
            let error: SwitchboardError =
                command.fields["op"] == nil ? .invalid("missing field: op") : .invalid("wrong type for field op (expected string)")
            return eventLoop.makeFailedFuture(error)
        }
        live.opCounter(command.op?.rawValue ?? "unknown").increment()
        guard let op = command.op else {
            return eventLoop.makeFailedFuture(SwitchboardError(.unknownOp, "unknown op: \(name.prefix(64))"))
        }
        if op == .auth {
            do {
                return authenticate(token: try command.string("token", maxLength: 8192), reply: command)
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
        }
        guard let user = userID else {
            return eventLoop.makeFailedFuture(SwitchboardError(.unauthorized, "authenticate first (op auth)"))
        }
        do {
            switch op {
            case .auth: preconditionFailure("handled above")
            case .send: return try send(command, user: user)
            case .edit: return try edit(command, user: user)
            case .delete: return try deleteMessage(command, user: user)
            case .typing: return try typing(command, user: user)
            case .read: return try read(command, user: user)
            case .history: return try history(command, user: user)
            case .resume: return try resume(command, user: user)
            case .ping: return eventLoop.makeSucceededFuture("")
            case .status: return try status(command, user: user)
            case .presenceWatch: return try watchPresence(command)
            case .presenceUnwatch:
                watch(try command.stringArray("users"), on: false)
                return eventLoop.makeSucceededFuture("")
            case .react: return try react(command, user: user)
            case .delivered: return try delivered(command, user: user)
            }
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    // MARK: Replies

    /// `{"re":id,"ok":true,<fields>}`; `fields` is JSON object members without braces.
    func reply(_ command: ClientCommand, fields: String) {
        let text =
            fields.isEmpty
            ? #"{"re":"# + command.idJSON + #","ok":true}"#
            : #"{"re":"# + command.idJSON + #","ok":true,"# + fields + "}"
        write(ServerFrame.text(text), flush: true)
    }

    func reply(_ command: ClientCommand, error: SwitchboardError) {
        if error.code == .internalError { logger.error("op failed", metadata: ["op": "\(command.op?.rawValue ?? "")", "error": "\(error)"]) }
        write(ServerFrame.text(#"{"re":"# + command.idJSON + #","ok":false,"error":"# + Self.errorJSON(error) + "}"), flush: true)
    }

    static func errorJSON(_ error: SwitchboardError) -> String {
        #"{"code":"# + JSONText.quote(error.code.rawValue) + #","message":"# + JSONText.quote(error.message) + "}"
    }

    /// Runs async domain code for an op and lands its result on this loop.
    func task<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> EventLoopFuture<T> {
        let promise = eventLoop.makePromise(of: T.self)
        promise.completeWithTask { try await body() }
        return promise.futureResult
    }

    // MARK: auth

    /// Verifies a token. First time: the connection takes the token's user
    /// (or closes with 4001/4009 once the reply is written). Later: renews
    /// the expiry of the same user.
    ///
    /// No Swift task on the usual path: the JWT is verified here on the
    /// event loop (CPU only) and the Redis calls of the connect pipeline
    /// (`Switchboard.openConnection`, two writes) are chained as futures.
    func authenticate(token: String, reply command: ClientCommand?) -> EventLoopFuture<String> {
        let switchboard = live.switchboard
        let initial = userID == nil
        let member = connectionID
        let maxConnections = live.configuration.maxConnectionsPerUser
        let answers = command != nil
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let found = verifyToken(token).flatMap { claims -> EventLoopFuture<(AccessClaims, OpenedConnection)> in
            let unknown = SwitchboardError(.unauthorized, "the token's user does not exist")
            guard initial else {
                return switchboard.accounts.lookUpUser(id: claims.subject).flatMapThrowing { user in
                    guard let user else { throw unknown }
                    return (claims, OpenedConnection(user: user, conversations: [], connections: 0, unpushed: []))
                }
            }
            return switchboard.openConnection(user: claims.subject, session: claims.sessionID, member: member).flatMapThrowing { opened in
                guard let opened else { throw unknown }
                return (claims, opened)
            }
        }
        return found.hop(to: eventLoop).flatMap { (claims, opened) -> EventLoopFuture<String> in
            let session = bound.value
            // (Nobody reads it after a header token: no reply is written for that.)
            let userJSON = answers ? #""user":"# + JSONText.encode(opened.user) : ""
            switch session.authSucceeded(user: claims.subject, tokenExpiry: claims.expiresAt) {
            case .register where opened.connections > maxConnections:
                // Presence counts this connection already: the excess one is undone on close.
                session.close(code: .tooManyConnections, reason: "too many connections")
                return session.eventLoop.makeFailedFuture(
                    SwitchboardError(.rateLimited, "too many open connections for this user (at most \(maxConnections))"))
            case .register(let id):
                return session.register(user: id, conversations: opened.conversations).map {
                    bound.value.pushNotifications(opened, user: id)
                    return userJSON
                }
            case .refuse(let error):
                return session.eventLoop.makeFailedFuture(error)
            case .renewed, .ignore:
                return session.eventLoop.makeSucceededFuture(userJSON)
            }
        }.flatMapError { error in
            let session = bound.value
            let failure = error as? SwitchboardError ?? SwitchboardError(redis: error)
            session.authFailed(failure)
            return session.eventLoop.makeFailedFuture(failure)
        }
    }

    /// The claims of a token: verified here when the signing key is at hand
    /// (always, once the node is ready); through a task only for an external
    /// token (its user record may have to be created) or before the key is loaded.
    private func verifyToken(_ token: String) -> EventLoopFuture<AccessClaims> {
        let tokens = live.switchboard.tokens
        do {
            if let claims = try tokens.verifyNow(token), !tokens.isExternal(claims) {
                return eventLoop.makeSucceededFuture(claims)
            }
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        let authenticator = live.authenticator
        return task {
            let claims = try await tokens.verify(token)
            if tokens.isExternal(claims) { _ = try await authenticator.userID(token: token) }
            return claims
        }
    }

    /// Pushes the notifications stored while the user was offline (read by
    /// `openConnection`), once they are marked pushed; after the auth reply.
    func pushNotifications(_ opened: OpenedConnection, user: String) {
        guard let newest = opened.newestUnpushed else { return }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        live.switchboard.notifications.markPushed(user: user, newest: newest).hop(to: eventLoop).whenSuccess {
            for item in opened.unpushed {
                bound.value.write(ServerFrame.text(#"{"ev":"notification","notification":"# + JSONText.encode(item) + "}"), flush: false)
            }
            bound.value.flushIfNeeded()
        }
    }

    // MARK: messages

    func conversationID(_ command: ClientCommand) throws(SwitchboardError) -> String {
        let id = try command.string("conv", maxLength: 64)
        guard ConversationService.isValidID(id) else { throw .notFound("conversation not found") }
        return id
    }

    func send(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let conversation = try conversationID(command)
        let limit = live.switchboard.configuration.limits.messageLength
        let options = try command.sendOptions()
        let text = options.isPlain ? try command.string("text", maxLength: limit * 4) : try command.optionalString("text", maxLength: limit * 4) ?? ""
        let nonce = try command.optionalString("nonce", maxLength: 128)
        let token = hub.sendLimiter.take(user: user)
        guard token.allowed else {
            refusedSends += 1
            if refusedSends >= live.configuration.abuseCloseAfter {
                eventLoop.execute { [bound = NIOLoopBound(self, eventLoop: eventLoop)] in
                    bound.value.close(code: .rateLimited, reason: "rate limited")
                }
            }
            throw SwitchboardError(
                .rateLimited, "sending too fast, retry in \(Int(token.retryAfter.rounded(.up))) s",
                retryAfter: Int(token.retryAfter.rounded(.up)))
        }
        refusedSends = 0
        let followUp = live.followUp
        if !options.isPlain {
            let (switchboard, origin) = (live.switchboard, connectionID)
            return task {
                let result = try await switchboard.sendRich(conversation, from: user, text: text, nonce: nonce, origin: origin, options: options)
                followUp.stored(result, conversation: conversation, sender: user, text: text)
                return #""message":"# + result.messageJSON
            }
        }
        return live.switchboard.conversations.sendRaw(conversation, from: user, text: text, nonce: nonce, origin: connectionID)
            .map { result in
                followUp.stored(result, conversation: conversation, sender: user, text: text)
                return #""message":"# + result.messageJSON
            }
    }

    func edit(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let conversation = try conversationID(command)
        let message = try command.string("msg", maxLength: 64)
        let text = try command.string("text", maxLength: live.switchboard.configuration.limits.messageLength * 4)
        let conversations = live.switchboard.conversations
        let origin = connectionID
        let (limiter, limits) = (live.switchboard.rateLimiter, live.switchboard.configuration.limits)
        return task {
            try await limiter.throttle(.edit, user: user, limits: limits)
            let edited = try await conversations.edit(conversation, user: user, message: message, text: text, origin: origin)
            return #""message":"# + JSONText.encode(edited)
        }
    }

    func deleteMessage(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let conversation = try conversationID(command)
        let message = try command.string("msg", maxLength: 64)
        let conversations = live.switchboard.conversations
        let origin = connectionID
        let (limiter, limits) = (live.switchboard.rateLimiter, live.switchboard.configuration.limits)
        return task {
            try await limiter.throttle(.edit, user: user, limits: limits)
            _ = try await conversations.deleteMessage(conversation, user: user, message: message, origin: origin)
            return ""
        }
    }

    func typing(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let conversation = try conversationID(command)
        let active = try command.bool("active")
        guard conversations.contains(conversation) else {
            throw SwitchboardError(.notMember, "not a member of this conversation")
        }
        let now = NIODeadline.now()
        if active, let last = typingSent[conversation],
            now - last < .milliseconds(Int64(live.configuration.typingInterval * 1000))
        {
            return eventLoop.makeSucceededFuture("")  // throttled: the last event still stands
        }
        typingSent[conversation] = active ? now : nil
        let keys = live.switchboard.keys
        let payload =
            #"{"ev":"typing","conv":"# + JSONText.quote(conversation) + #","user":"# + JSONText.quote(user)
            + #","active":"# + (active ? "true" : "false") + #","origin":"# + JSONText.quote(connectionID) + "}"
        let (switchboard, limits) = (live.switchboard, live.switchboard.configuration.limits)
        return task {
            // Every published typing event counts, `active: false` included.
            try await switchboard.rateLimiter.throttle(.typing, user: user, limits: limits)
            let reply = try await switchboard.redis.send(
                RedisCommand(switchboard.configuration.publishCommand, [keys.conversationChannel(conversation), payload])
            ).get()
            if let message = reply.errorMessage { throw SwitchboardError(redis: RedisError.server(message)) }
            return ""
        }.flatMapErrorThrowing { error in throw error as? SwitchboardError ?? SwitchboardError(redis: error) }
    }

    func status(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        guard let value = PresenceStatus(rawValue: try command.string("status", maxLength: 16)) else {
            throw .invalid("status must be online, away or busy")
        }
        let presence = live.switchboard.presence
        let (limiter, limits) = (live.switchboard.rateLimiter, live.switchboard.configuration.limits)
        return task {
            try await limiter.throttle(.status, user: user, limits: limits)
            try await presence.setStatus(user: user, status: value)
            return ""
        }
    }

    func watchPresence(_ command: ClientCommand) throws(SwitchboardError) -> EventLoopFuture<String> {
        let users = try command.stringArray("users")
        for user in users where user.isEmpty || user.utf8.count > 128 || user.contains("}") {
            throw .invalid("users: invalid user id")
        }
        // Every watched id is a subscription, known user or not.
        let maxWatched = live.configuration.maxWatchedUsers
        let added = Set(users).subtracting(watching).count
        guard watching.count + added <= maxWatched else {
            throw .invalid("presence.watch: at most \(maxWatched) users per connection (watching \(watching.count))")
        }
        let presence = live.switchboard.presence
        // Read the states once the subscription is active, so no change falls in between.
        return watch(users, on: true).flatMap { [self] in
            task {
                let states = try await presence.presence(of: users)
                return #""presence":"# + JSONText.encode(states)
            }
        }
    }

    func read(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let conversation = try conversationID(command)
        let seq = try command.int("seq")
        let conversations = live.switchboard.conversations
        return task {
            let unread = try await conversations.markRead(conversation, user: user, seq: seq)
            return #""unread":"# + String(unread)
        }
    }

    func history(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let conversation = try conversationID(command)
        let before = try command.optionalString("before", maxLength: 64)
        let after = try command.optionalString("after", maxLength: 64)
        let limit = min(max(try command.optionalInt("limit") ?? 50, 1), 200)
        let conversations = live.switchboard.conversations
        return task {
            let page = try await conversations.history(conversation, user: user, before: before, after: after, limit: limit)
            return #""messages":"# + JSONText.encode(page.messages) + #","more":"# + (page.more ? "true" : "false")
        }
    }
}
