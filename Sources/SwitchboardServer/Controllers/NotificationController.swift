import Hummingbird
import SwitchboardCore

/// `/api/v1/notifications`: list (newest first) and clear.
struct NotificationController {
    let switchboard: Switchboard
    let authenticator: Authenticator

    struct NotificationsAnswer: Encodable {
        var notifications: [Notification]
    }

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        group.get("notifications") { request, _ in
            let user = try await authenticator.userID(request)
            let items = try await switchboard.notifications.list(user: user)
            return try JSONCoding.response(NotificationsAnswer(notifications: items))
        }
        group.delete("notifications") { request, _ in
            let user = try await authenticator.userID(request)
            try await switchboard.notifications.clear(user: user)
            return Response(status: .noContent)
        }
    }
}
