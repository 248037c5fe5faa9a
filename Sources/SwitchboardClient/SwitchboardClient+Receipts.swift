import Foundation

/// Which `delivered` ops are due, per conversation: the newest seq received,
/// sent at most once per interval (a trailing send carries what came meanwhile).
struct DeliveryReceipts {
    /// The newest seq received and not yet reported, per conversation.
    var due: [String: Int] = [:]
    /// The highest seq reported, per conversation.
    var sent: [String: Int] = [:]
    /// When the last `delivered` of a conversation went out.
    var lastSent: [String: Date] = [:]
    /// Conversations with a trailing send scheduled.
    var timers: [String: Task<Void, Never>] = [:]
}

extension SwitchboardClient {
    /// Adds or removes the user's reaction on a message; answers the emoji's count now.
    @discardableResult
    public func react(_ emoji: String, on: Bool = true, message: String, in conversation: String) async throws -> Int {
        try await request("react", ["conv": conversation, "msg": message, "emoji": emoji, "on": on]).object["count"] as? Int ?? 0
    }

    /// Moves the user's delivered pointer of a conversation to `seq`; answers the pointer.
    /// (The client does this by itself for the messages it receives, see `sendsDeliveryReceipts`.)
    @discardableResult
    public func markDelivered(_ conversation: String, seq: Int) async throws -> Int {
        try await request("delivered", ["conv": conversation, "seq": seq]).object["seq"] as? Int ?? 0
    }

    /// A message arrived: report it delivered now, or once the interval since
    /// the last report of its conversation has passed.
    func noteDelivered(_ message: Message) {
        guard configuration.sendsDeliveryReceipts else { return }
        let conversation = message.conv
        guard message.seq > max(receipts.due[conversation] ?? 0, receipts.sent[conversation] ?? 0) else { return }
        receipts.due[conversation] = message.seq
        guard receipts.timers[conversation] == nil else { return }
        let wait = receipts.lastSent[conversation].map { configuration.deliveryReceiptInterval - Date().timeIntervalSince($0) } ?? 0
        receipts.timers[conversation] = Task { [weak self] in
            if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
            await self?.flushDelivered(conversation)
        }
    }

    /// Sends the due `delivered` of a conversation (best effort: a failure waits for the next message).
    func flushDelivered(_ conversation: String) async {
        receipts.timers[conversation] = nil
        guard let seq = receipts.due.removeValue(forKey: conversation), !Task.isCancelled else { return }
        receipts.lastSent[conversation] = Date()
        receipts.sent[conversation] = max(receipts.sent[conversation] ?? 0, seq)
        _ = try? await request(["op": "delivered", "conv": conversation, "seq": seq])
    }

    func cancelDeliveryReceipts() {
        for timer in receipts.timers.values { timer.cancel() }
        receipts.timers = [:]
    }
}
