import Metrics
import SwitchboardCore

/// What follows a stored message on every send path (WebSocket and REST):
/// it is counted, and notification work starts, off the reply path, only
/// when someone may be notified (`NotificationService.mayNotify`).
struct MessageFollowUp: Sendable {
    let notifications: NotificationService
    let background: BackgroundWork
    let sent = Counter(label: "switchboard_messages_sent_total")
    /// The same count, readable: the heartbeat's messages per second.
    let tally = MessageTally()

    /// After the `send` script answered (`created` false: a repeated nonce, nothing follows).
    func stored(_ result: RawSendResult, conversation: String, sender: String, text: String) {
        guard result.created else { return }
        sent.increment()
        tally.increment()
        guard NotificationService.mayNotify(kind: result.kind, offline: result.offline, text: text) else { return }
        let notifications = self.notifications
        background.submit("notifications of a message in \(conversation)") {
            try? await notifications.messageSent(
                conversation: conversation, sender: sender, text: text, messageJSON: result.messageJSON, kind: result.kind,
                offline: result.offline)
        }
    }
}
