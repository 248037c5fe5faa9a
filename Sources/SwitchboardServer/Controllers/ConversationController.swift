import Hummingbird
import SwitchboardCore

/// `/api/v1/conversations*` and `/api/v1/rooms`.
struct ConversationController {
    let switchboard: Switchboard
    let authenticator: Authenticator
    let followUp: MessageFollowUp
    /// The per-user send budget shared with the WebSocket sessions.
    let sendLimiter: SendLimiter

    struct CreateBody: Decodable {
        var kind: String
        var with: String?
        var name: String?
        var members: [String]?
        var `public`: Bool?
    }

    struct UpdateBody: Decodable {
        var name: String?
        var description: String?
    }

    struct MembersBody: Decodable {
        var users: [String]
    }

    struct RoleBody: Decodable {
        var role: String
    }

    struct SendBody: Decodable {
        /// Optional with attachments or a post.
        var text: String?
        var nonce: String?
        var attachments: [String]?
        var replyTo: String?
        var post: String?

        var options: SendOptions { SendOptions(attachments: attachments ?? [], replyTo: replyTo, post: post) }
    }

    struct EditBody: Decodable {
        var text: String
    }

    struct ReadBody: Decodable {
        var seq: Int
    }

    struct ConversationAnswer: Encodable { var conversation: Conversation }
    struct ConversationsAnswer: Encodable { var conversations: [Conversation] }
    struct RoomsAnswer: Encodable { var rooms: [Conversation] }
    struct MessageAnswer: Encodable { var message: Message }
    struct MessagesAnswer: Encodable {
        var messages: [Message]
        var more: Bool
    }
    struct UnreadAnswer: Encodable { var unread: Int }

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        let limit = switchboard.configuration.limits.httpBodySize
        let conversations = switchboard.conversations
        let limits = switchboard.configuration.limits

        group.post("conversations") { request, _ in
            let user = try await authenticator.userID(request)
            try await switchboard.rateLimiter.throttle(.create, user: user, limits: limits)
            var request = request
            let body = try await request.decodeJSON(CreateBody.self, limit: limit)
            switch ConversationKind(rawValue: body.kind) {
            case .direct:
                guard let other = body.with else { throw SwitchboardError.invalid("missing field: with") }
                let (conversation, created) = try await conversations.createDirect(actor: user, with: other)
                var answer = conversation
                answer.members = try await conversations.members(of: conversation.id)
                return try JSONCoding.response(ConversationAnswer(conversation: answer), status: created ? .created : .ok)
            case .group:
                guard let name = body.name else { throw SwitchboardError.invalid("missing field: name") }
                let conversation = try await conversations.createGroup(actor: user, name: name, members: body.members ?? [])
                return try JSONCoding.response(ConversationAnswer(conversation: conversation), status: .created)
            case .room:
                guard let name = body.name else { throw SwitchboardError.invalid("missing field: name") }
                let conversation = try await conversations.createRoom(actor: user, name: name, public: body.public ?? true)
                return try JSONCoding.response(ConversationAnswer(conversation: conversation), status: .created)
            case nil:
                throw SwitchboardError.invalid("kind must be direct, group or room")
            }
        }
        group.get("conversations") { request, _ in
            let user = try await authenticator.userID(request)
            let count = try UserController.limit(request.uri.queryParameters["limit"].map(String.init), default: 50, maximum: 200)
            let list = try await conversations.list(user: user, limit: count)
            return try JSONCoding.response(ConversationsAnswer(conversations: list))
        }
        group.get("conversations/:id") { request, context in
            let user = try await authenticator.userID(request)
            let conversation = try await conversations.get(try context.parameters.require("id"), user: user)
            return try JSONCoding.response(ConversationAnswer(conversation: conversation))
        }
        group.patch("conversations/:id") { request, context in
            let user = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(UpdateBody.self, limit: limit)
            let conversation = try await conversations.update(
                try context.parameters.require("id"), actor: user, name: body.name, description: body.description)
            return try JSONCoding.response(ConversationAnswer(conversation: conversation))
        }
        group.delete("conversations/:id") { request, context in
            let user = try await authenticator.userID(request)
            try await conversations.delete(try context.parameters.require("id"), actor: user)
            return Response(status: .noContent)
        }
        group.post("conversations/:id/members") { request, context in
            let user = try await authenticator.userID(request)
            try await switchboard.rateLimiter.throttle(.membership, user: user, limits: limits)
            var request = request
            let body = try await request.decodeJSON(MembersBody.self, limit: limit)
            let conversation = try await conversations.addMembers(
                try context.parameters.require("id"), actor: user, users: body.users)
            return try JSONCoding.response(ConversationAnswer(conversation: conversation))
        }
        group.delete("conversations/:id/members/:userId") { request, context in
            let user = try await authenticator.userID(request)
            try await switchboard.rateLimiter.throttle(.membership, user: user, limits: limits)
            try await conversations.removeMember(
                try context.parameters.require("id"), actor: user, target: try context.parameters.require("userId"))
            return Response(status: .noContent)
        }
        group.patch("conversations/:id/members/:userId") { request, context in
            let user = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(RoleBody.self, limit: limit)
            guard let role = MemberRole(rawValue: body.role) else { throw SwitchboardError.invalid("role: owner, admin or member") }
            let conversation = try await conversations.setRole(
                try context.parameters.require("id"), actor: user, target: try context.parameters.require("userId"),
                role: role)
            return try JSONCoding.response(ConversationAnswer(conversation: conversation))
        }
        group.get("rooms") { request, _ in
            _ = try await authenticator.userID(request)
            let query = request.uri.queryParameters
            let count = try UserController.limit(query["limit"].map(String.init), default: 50, maximum: 200)
            let rooms = try await conversations.rooms(prefix: query["q"].map(String.init) ?? "", limit: count)
            return try JSONCoding.response(RoomsAnswer(rooms: rooms))
        }
        group.get("conversations/:id/messages") { request, context in
            let user = try await authenticator.userID(request)
            let query = request.uri.queryParameters
            let count = try UserController.limit(query["limit"].map(String.init), default: 50, maximum: 200)
            let page = try await conversations.history(
                try context.parameters.require("id"), user: user, before: query["before"].map(String.init),
                after: query["after"].map(String.init), limit: count)
            return try JSONCoding.response(MessagesAnswer(messages: page.messages, more: page.more))
        }
        group.post("conversations/:id/messages") { request, context in
            let user = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(SendBody.self, limit: limit)
            // The same per-user budget as the WebSocket sends, of every node (`SendLimiter`).
            try sendLimiter.enforce(user: user)
            let conversation = try context.parameters.require("id")
            let options = body.options
            let text = body.text ?? ""
            if options.isPlain, body.text == nil { throw SwitchboardError.invalid("missing field: text") }
            let result =
                options.isPlain
                ? try await conversations.send(conversation, from: user, text: text, nonce: body.nonce)
                : try await switchboard.sendRichMessage(conversation, from: user, text: text, nonce: body.nonce, options: options)
            followUp.stored(result.raw, conversation: conversation, sender: user, text: text)
            return try JSONCoding.response(MessageAnswer(message: result.message), status: result.created ? .created : .ok)
        }
        group.get("conversations/:id/messages/:msgId/replies") { request, context in
            let user = try await authenticator.userID(request)
            let query = request.uri.queryParameters
            let count = try UserController.limit(query["limit"].map(String.init), default: 50, maximum: 200)
            let page = try await conversations.replies(
                try context.parameters.require("id"), to: try context.parameters.require("msgId"), user: user,
                before: query["before"].map(String.init), after: query["after"].map(String.init), limit: count)
            return try JSONCoding.response(MessagesAnswer(messages: page.messages, more: page.more))
        }
        group.patch("conversations/:id/messages/:msgId") { request, context in
            let user = try await authenticator.userID(request)
            try await switchboard.rateLimiter.throttle(.edit, user: user, limits: limits)
            var request = request
            let body = try await request.decodeJSON(EditBody.self, limit: limit)
            let message = try await conversations.edit(
                try context.parameters.require("id"), user: user, message: try context.parameters.require("msgId"),
                text: body.text)
            return try JSONCoding.response(MessageAnswer(message: message))
        }
        group.delete("conversations/:id/messages/:msgId") { request, context in
            let user = try await authenticator.userID(request)
            try await switchboard.rateLimiter.throttle(.edit, user: user, limits: limits)
            let message = try await conversations.deleteMessage(
                try context.parameters.require("id"), user: user, message: try context.parameters.require("msgId"))
            return try JSONCoding.response(MessageAnswer(message: message))
        }
        group.post("conversations/:id/read") { request, context in
            let user = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(ReadBody.self, limit: limit)
            let unread = try await conversations.markRead(try context.parameters.require("id"), user: user, seq: body.seq)
            return try JSONCoding.response(UnreadAnswer(unread: unread))
        }
    }
}
