import Logging
import Metrics
import SwitchboardCore
import Synchronization

/// What every WebSocket session of a node shares.
final class LiveContext: Sendable {
    let switchboard: Switchboard
    let hub: FanoutHub
    let authenticator: Authenticator
    /// Jobs started after a reply (notifications, presence after a disconnect, gap replay).
    let background: BackgroundWork
    /// Counting and notifications after a stored message, for every send path.
    let followUp: MessageFollowUp
    let logger: Logger
    private let nextConnection = Atomic<Int>(0)

    let connectionsGauge = Gauge(label: "switchboard_connections")
    let overflowCloses = Counter(label: "switchboard_outbound_overflow_closes_total")
    let openConnections = Atomic<Int>(0)
    /// Set on graceful shutdown: new sessions are closed with 1001 at once.
    let draining = Atomic<Bool>(false)

    init(switchboard: Switchboard, hub: FanoutHub, background: BackgroundWork, logger: Logger) {
        self.switchboard = switchboard
        self.hub = hub
        self.background = background
        self.followUp = MessageFollowUp(notifications: switchboard.notifications, background: background)
        self.authenticator = Authenticator(switchboard: switchboard)
        self.logger = logger
    }

    var configuration: LiveConfiguration { switchboard.configuration.live }

    /// A connection id unique on this node: `node/n`.
    func makeConnectionID() -> String {
        "\(switchboard.configuration.nodeID)/\(nextConnection.wrappingAdd(1, ordering: .relaxed).newValue)"
    }

    func opCounter(_ op: String) -> Counter {
        Counter(label: "switchboard_ops_total", dimensions: [("op", op)])
    }
}
