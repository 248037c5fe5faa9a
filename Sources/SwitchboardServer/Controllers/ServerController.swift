import Foundation
import Hummingbird
import SwitchboardCore

/// `/api/v1/server/*`: the server API for the app's own backend,
/// authenticated with server API keys (never with user tokens).
struct ServerController {
    let switchboard: Switchboard
    let authenticator: ServerAPIAuthenticator
    let followUp: MessageFollowUp

    struct CreateUserBody: Decodable {
        var username: String
        var displayName: String?
    }

    struct CreateConversationBody: Decodable {
        var kind: String
        var name: String?
        var members: [String]
        var `public`: Bool?
    }

    struct MembersBody: Decodable { var users: [String] }

    struct MessageBody: Decodable {
        var text: String
        var from: String?
    }

    struct BanBody: Decodable {
        var until: Int?
        var reason: String?
    }

    struct UserAnswer: Encodable { var user: User }
    struct TokensAnswer: Encodable {
        var accessToken: String
        var refreshToken: String
        var expiresIn: Int
    }
    struct ConversationAnswer: Encodable { var conversation: Conversation }
    struct MessageAnswer: Encodable { var message: Message }

    func register(on api: RouterGroup<SwitchboardRequestContext>) {
        let limit = switchboard.configuration.limits.httpBodySize
        let accounts = switchboard.accounts
        let conversations = switchboard.conversations
        let authenticator = self.authenticator
        let followUp = self.followUp
        let switchboard = self.switchboard
        let group = api.group("server")

        group.post("users") { request, _ in
            try authenticator.require(request)
            var request = request
            let body = try await request.decodeJSON(CreateUserBody.self, limit: limit)
            let user = try await accounts.createWithoutPassword(username: body.username, displayName: body.displayName)
            return try JSONCoding.response(UserAnswer(user: user), status: .created)
        }
        group.post("users/:id/tokens") { request, context in
            try authenticator.require(request)
            let id = try context.parameters.require("id")
            guard try await accounts.user(id: id) != nil else { throw SwitchboardError.notFound("no such user") }
            try await accounts.requireNotBanned(id)
            let tokens = try await switchboard.tokens.issue(for: id)
            return try JSONCoding.response(
                TokensAnswer(accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresIn: tokens.expiresIn))
        }
        group.post("users/:id/disconnect") { request, context in
            try authenticator.require(request)
            let id = try context.parameters.require("id")
            guard try await accounts.user(id: id) != nil else { throw SwitchboardError.notFound("no such user") }
            try await accounts.disconnect(id)
            return Response(status: .noContent)
        }
        group.put("users/:id/ban") { request, context in
            try authenticator.require(request)
            let id = try context.parameters.require("id")
            var request = request
            let body = try await Self.optionalBody(&request, BanBody.self, limit: limit) ?? BanBody()
            if let until = body.until, until <= switchboard.clock.milliseconds {
                throw SwitchboardError.invalid("until must be in the future (ms), or left out for a ban until lifted")
            }
            try await accounts.ban(id, until: body.until, reason: body.reason)
            try await accounts.disconnect(id)
            return Response(status: .noContent)
        }
        group.delete("users/:id/ban") { request, context in
            try authenticator.require(request)
            let id = try context.parameters.require("id")
            try await accounts.unban(id)
            return Response(status: .noContent)
        }
        group.post("conversations") { request, _ in
            try authenticator.require(request)
            var request = request
            let body = try await request.decodeJSON(CreateConversationBody.self, limit: limit)
            guard let kind = ConversationKind(rawValue: body.kind) else {
                throw SwitchboardError.invalid("kind must be direct, group or room")
            }
            var (conversation, created) = try await conversations.createForServer(
                kind: kind, name: body.name, members: body.members, public: body.public)
            conversation.members = try await conversations.members(of: conversation.id)
            conversation.unread = nil
            return try JSONCoding.response(ConversationAnswer(conversation: conversation), status: created ? .created : .ok)
        }
        group.post("conversations/:id/members") { request, context in
            try authenticator.require(request)
            let id = try context.parameters.require("id")
            var request = request
            let body = try await request.decodeJSON(MembersBody.self, limit: limit)
            let conversation = try await conversations.addMembersForServer(id, users: body.users)
            return try JSONCoding.response(ConversationAnswer(conversation: conversation))
        }
        group.delete("conversations/:id/members/:user") { request, context in
            try authenticator.require(request)
            let id = try context.parameters.require("id")
            let user = try context.parameters.require("user")
            try await conversations.removeMemberForServer(id, user: user)
            return Response(status: .noContent)
        }
        group.post("conversations/:id/messages") { request, context in
            try authenticator.require(request)
            let id = try context.parameters.require("id")
            var request = request
            let body = try await request.decodeJSON(MessageBody.self, limit: limit)
            if let from = body.from {
                let result = try await conversations.send(id, from: from, text: body.text, nonce: nil)
                followUp.stored(result.raw, conversation: id, sender: from, text: body.text)
                return try JSONCoding.response(MessageAnswer(message: result.message), status: .created)
            }
            let (message, raw) = try await conversations.sendSystem(id, text: body.text)
            followUp.stored(raw, conversation: id, sender: "system", text: body.text)
            return try JSONCoding.response(MessageAnswer(message: message), status: .created)
        }
        group.get("stats") { request, _ in
            try authenticator.require(request)
            return try JSONCoding.response(try await ServerStats.read(switchboard))
        }
    }

    /// A JSON body that may be absent (an empty body decodes as nil).
    static func optionalBody<T: Decodable>(_ request: inout Request, _ type: T.Type, limit: Int) async throws -> T? {
        let buffer = try await request.collectBody(upTo: limit)
        guard buffer.readableBytes > 0 else { return nil }
        return try JSONCoding.decode(type, from: Data(buffer.readableBytesView))
    }
}
