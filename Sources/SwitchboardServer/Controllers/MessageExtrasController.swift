import Foundation
import Hummingbird
import SwitchboardCore

/// Reactions, pins, receipts and mutes (issue 15) under `/api/v1/conversations/{id}`.
struct MessageExtrasController {
    let switchboard: Switchboard
    let authenticator: Authenticator

    struct MuteBody: Decodable { var until: Int }

    struct ReactionAnswer: Encodable {
        var emoji: String
        var count: Int
    }
    struct ReactorsAnswer: Encodable {
        var users: [String]
        var next: String?
    }
    struct PinsAnswer: Encodable { var pins: [PinnedMessage] }
    struct ReceiptsAnswer: Encodable {
        var delivered: [String]
        var read: [String]
    }
    /// Rooms answer counts only.
    struct ReceiptCountsAnswer: Encodable {
        var delivered: Int
        var read: Int
    }

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        let conversations = switchboard.conversations
        let limits = switchboard.configuration.limits
        let bodyLimit = limits.httpBodySize

        @Sendable func react(_ request: Request, _ context: SwitchboardRequestContext, on: Bool) async throws -> Response {
            let user = try await authenticator.userID(request)
            try await switchboard.rateLimiter.throttle(.react, user: user, limits: limits)
            let emoji = try Self.emoji(context)
            let result = try await conversations.react(
                try context.parameters.require("id"), user: user, message: try context.parameters.require("msgId"), emoji: emoji, on: on)
            return try JSONCoding.response(ReactionAnswer(emoji: emoji, count: result.count))
        }
        group.put("conversations/:id/messages/:msgId/reactions/:emoji") { request, context in
            try await react(request, context, on: true)
        }
        group.delete("conversations/:id/messages/:msgId/reactions/:emoji") { request, context in
            try await react(request, context, on: false)
        }
        group.get("conversations/:id/messages/:msgId/reactions/:emoji") { request, context in
            let user = try await authenticator.userID(request)
            let query = request.uri.queryParameters
            let count = try UserController.limit(query["limit"].map(String.init), default: 100, maximum: 1000)
            let page = try await conversations.reactors(
                try context.parameters.require("id"), user: user, message: try context.parameters.require("msgId"),
                emoji: try Self.emoji(context), after: query["after"].map(String.init), limit: count)
            return try JSONCoding.response(ReactorsAnswer(users: page.users, next: page.next))
        }
        group.get("conversations/:id/messages/:msgId/receipts") { request, context in
            let user = try await authenticator.userID(request)
            let (receipts, kind) = try await conversations.receipts(
                try context.parameters.require("id"), user: user, message: try context.parameters.require("msgId"))
            if kind == .room {
                return try JSONCoding.response(ReceiptCountsAnswer(delivered: receipts.delivered.count, read: receipts.read.count))
            }
            return try JSONCoding.response(ReceiptsAnswer(delivered: receipts.delivered, read: receipts.read))
        }

        @Sendable func pin(_ request: Request, _ context: SwitchboardRequestContext, on: Bool) async throws -> Response {
            let user = try await authenticator.userID(request)
            try await switchboard.rateLimiter.throttle(.edit, user: user, limits: limits)
            _ = try await conversations.pin(
                try context.parameters.require("id"), user: user, message: try context.parameters.require("msgId"), on: on)
            return Response(status: .noContent)
        }
        group.put("conversations/:id/pins/:msgId") { request, context in try await pin(request, context, on: true) }
        group.delete("conversations/:id/pins/:msgId") { request, context in try await pin(request, context, on: false) }
        group.get("conversations/:id/pins") { request, context in
            let user = try await authenticator.userID(request)
            let pins = try await conversations.pins(try context.parameters.require("id"), user: user)
            return try JSONCoding.response(PinsAnswer(pins: pins))
        }

        group.put("conversations/:id/mute") { request, context in
            let user = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(MuteBody.self, limit: bodyLimit)
            let conversation = try await conversations.mute(try context.parameters.require("id"), user: user, until: body.until)
            return try JSONCoding.response(ConversationController.ConversationAnswer(conversation: conversation))
        }
        group.delete("conversations/:id/mute") { request, context in
            let user = try await authenticator.userID(request)
            _ = try await conversations.mute(try context.parameters.require("id"), user: user, until: 0)
            return Response(status: .noContent)
        }
    }

    /// The `:emoji` path segment, percent-decoded (the router leaves it encoded).
    static func emoji(_ context: SwitchboardRequestContext) throws -> String {
        let raw = try context.parameters.require("emoji")
        return raw.removingPercentEncoding ?? raw
    }
}
