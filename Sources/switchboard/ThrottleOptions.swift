import ArgumentParser
import SwitchboardCore

/// The throttles, caps and timeouts against abuse (issue 12) that `serve`
/// sets: each one a flag and a `SWITCHBOARD_*` variable, defaulting to the
/// configuration's own value.
struct ThrottleOptions: ParsableArguments {
    private static let defaults = SwitchboardConfiguration()

    @Option(help: "typing commands per user per minute, active:false included (env SWITCHBOARD_TYPING_LIMIT).")
    var typingLimit: Int = env("SWITCHBOARD_TYPING_LIMIT").flatMap { Int($0) } ?? defaults.limits.typingPerMinute

    @Option(help: "Seconds between two published typing events of one connection in one conversation (env SWITCHBOARD_TYPING_INTERVAL).")
    var typingInterval: Double = env("SWITCHBOARD_TYPING_INTERVAL").flatMap { Double($0) } ?? defaults.live.typingInterval

    @Option(help: "Presence status changes per user per minute (env SWITCHBOARD_STATUS_LIMIT).")
    var statusLimit: Int = env("SWITCHBOARD_STATUS_LIMIT").flatMap { Int($0) } ?? defaults.limits.statusPerMinute

    @Option(help: "Message edits and deletes per user per minute, REST and WebSocket together (env SWITCHBOARD_EDIT_LIMIT).")
    var editLimit: Int = env("SWITCHBOARD_EDIT_LIMIT").flatMap { Int($0) } ?? defaults.limits.editsPerMinute

    @Option(help: "Members added or removed by one user per minute, room joins and leaves included (env SWITCHBOARD_MEMBERSHIP_LIMIT).")
    var membershipLimit: Int = env("SWITCHBOARD_MEMBERSHIP_LIMIT").flatMap { Int($0) } ?? defaults.limits.membershipChangesPerMinute

    @Option(help: "Conversations created per user per minute (env SWITCHBOARD_CONVERSATION_LIMIT).")
    var conversationLimit: Int = env("SWITCHBOARD_CONVERSATION_LIMIT").flatMap { Int($0) } ?? defaults.limits.conversationsPerMinute

    @Option(help: "Seconds between two syncs of a node's send budgets with the shared ones in Redis (env SWITCHBOARD_SEND_SYNC_INTERVAL).")
    var sendSyncInterval: Double = env("SWITCHBOARD_SEND_SYNC_INTERVAL").flatMap { Double($0) } ?? defaults.limits.sendSyncInterval

    @Option(help: "Refused sends in a row after which a connection is closed with 4029 (env SWITCHBOARD_ABUSE_CLOSE_AFTER).")
    var abuseCloseAfter: Int = env("SWITCHBOARD_ABUSE_CLOSE_AFTER").flatMap { Int($0) } ?? defaults.live.abuseCloseAfter

    @Option(help: "Messages replayed per conversation by resume and by gap replay (env SWITCHBOARD_RESUME_LIMIT).")
    var resumeLimit: Int = env("SWITCHBOARD_RESUME_LIMIT").flatMap { Int($0) } ?? defaults.live.resumeLimit

    @Option(help: "Seconds live events wait after authentication for an announced resume (env SWITCHBOARD_RESUME_HOLD_TIME).")
    var resumeHoldTime: Double = env("SWITCHBOARD_RESUME_HOLD_TIME").flatMap { Double($0) } ?? defaults.live.resumeHoldTime

    @Option(help: "Frames a connection's outbound queue may hold before it is closed with 4008 (env SWITCHBOARD_OUTBOUND_MAX_FRAMES).")
    var outboundMaxFrames: Int = env("SWITCHBOARD_OUTBOUND_MAX_FRAMES").flatMap { Int($0) } ?? defaults.live.outboundMaxFrames

    @Option(help: "Bytes a connection's outbound queue may hold before it is closed with 4008 (env SWITCHBOARD_OUTBOUND_MAX_BYTES).")
    var outboundMaxBytes: Int = env("SWITCHBOARD_OUTBOUND_MAX_BYTES").flatMap { Int($0) } ?? defaults.live.outboundMaxBytes

    @Option(help: "Seconds a new WebSocket has to authenticate before it is closed with 4001 (env SWITCHBOARD_AUTH_TIMEOUT).")
    var authTimeout: Double = env("SWITCHBOARD_AUTH_TIMEOUT").flatMap { Double($0) } ?? defaults.live.authTimeout

    @Option(help: "Seconds without inbound traffic before the node pings a WebSocket (env SWITCHBOARD_PING_INTERVAL).")
    var pingInterval: Double = env("SWITCHBOARD_PING_INTERVAL").flatMap { Double($0) } ?? defaults.live.pingInterval

    @Option(help: "Seconds a pong may take before the WebSocket is dropped (env SWITCHBOARD_PONG_TIMEOUT).")
    var pongTimeout: Double = env("SWITCHBOARD_PONG_TIMEOUT").flatMap { Double($0) } ?? defaults.live.pongTimeout

    @Option(help: "Bytes of one WebSocket message; a larger one closes the socket with 1009 (env SWITCHBOARD_WS_MAX_MESSAGE_BYTES).")
    var wsMaxMessageBytes: Int = env("SWITCHBOARD_WS_MAX_MESSAGE_BYTES").flatMap { Int($0) } ?? defaults.limits.webSocketMessageSize

    @Option(help: "Bytes of one HTTP request body; a larger one is answered 413 (env SWITCHBOARD_HTTP_MAX_BODY_BYTES).")
    var httpMaxBodyBytes: Int = env("SWITCHBOARD_HTTP_MAX_BODY_BYTES").flatMap { Int($0) } ?? defaults.limits.httpBodySize

    func validate() throws {
        for (flag, value) in [
            ("--typing-limit", typingLimit), ("--status-limit", statusLimit), ("--edit-limit", editLimit),
            ("--membership-limit", membershipLimit), ("--conversation-limit", conversationLimit),
            ("--abuse-close-after", abuseCloseAfter), ("--resume-limit", resumeLimit),
            ("--outbound-max-frames", outboundMaxFrames), ("--outbound-max-bytes", outboundMaxBytes),
            ("--ws-max-message-bytes", wsMaxMessageBytes), ("--http-max-body-bytes", httpMaxBodyBytes),
        ] where value < 1 {
            throw ValidationError("\(flag) must be at least 1")
        }
        for (flag, value) in [
            ("--send-sync-interval", sendSyncInterval), ("--auth-timeout", authTimeout), ("--ping-interval", pingInterval),
            ("--pong-timeout", pongTimeout),
        ] where !(value > 0) {
            throw ValidationError("\(flag) must be positive")
        }
        guard typingInterval >= 0, resumeHoldTime >= 0 else {
            throw ValidationError("--typing-interval and --resume-hold-time must be 0 or more")
        }
    }

    /// Writes these settings into a node's configuration.
    func apply(to configuration: inout SwitchboardConfiguration) {
        configuration.limits.typingPerMinute = typingLimit
        configuration.live.typingInterval = typingInterval
        configuration.limits.statusPerMinute = statusLimit
        configuration.limits.editsPerMinute = editLimit
        configuration.limits.membershipChangesPerMinute = membershipLimit
        configuration.limits.conversationsPerMinute = conversationLimit
        configuration.limits.sendSyncInterval = sendSyncInterval
        configuration.live.abuseCloseAfter = abuseCloseAfter
        configuration.live.resumeLimit = resumeLimit
        configuration.live.resumeHoldTime = resumeHoldTime
        configuration.live.outboundMaxFrames = outboundMaxFrames
        configuration.live.outboundMaxBytes = outboundMaxBytes
        configuration.live.authTimeout = authTimeout
        configuration.live.pingInterval = pingInterval
        configuration.live.pongTimeout = pongTimeout
        configuration.limits.webSocketMessageSize = wsMaxMessageBytes
        configuration.limits.httpBodySize = httpMaxBodyBytes
    }
}
