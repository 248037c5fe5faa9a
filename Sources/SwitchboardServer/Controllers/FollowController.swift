import Hummingbird
import SwitchboardCore

/// `/api/v1/users/{id}/follow`, `…/followers`, `…/following` and `/api/v1/feed`.
struct FollowController {
    let switchboard: Switchboard
    let authenticator: Authenticator

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        let posts = switchboard.posts
        let rules = switchboard.configuration.posts
        let rateLimiter = switchboard.rateLimiter

        for follow in [true, false] {
            let handler: @Sendable (Request, SwitchboardRequestContext) async throws -> Response = { request, context in
                let user = try await authenticator.userID(request)
                try await rateLimiter.enforce("follow:\(user)", rule: .perMinute(rules.followsPerMinute))
                try await posts.follow(try context.parameters.require("id"), actor: user, follow)
                return Response(status: .noContent)
            }
            if follow { group.put("users/:id/follow", use: handler) } else { group.delete("users/:id/follow", use: handler) }
        }
        for followers in [true, false] {
            let handler: @Sendable (Request, SwitchboardRequestContext) async throws -> Response = { request, context in
                _ = try await authenticator.userID(request)
                let (before, count) = try PostController.paging(request)
                let page = try await posts.follows(of: try context.parameters.require("id"), followers: followers, before: before, limit: count)
                return try JSONCoding.response(PageAnswer(key: "users", items: page.items, next: page.next?.description))
            }
            group.get(followers ? "users/:id/followers" : "users/:id/following", use: handler)
        }
        group.get("feed") { request, _ in
            let user = try await authenticator.userID(request)
            let (before, count) = try PostController.paging(request)
            let page = try await posts.feed(user: user, before: before, limit: count)
            return try JSONCoding.response(PageAnswer(key: "posts", items: page.items, next: page.next?.description))
        }
    }
}
