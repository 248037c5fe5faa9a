import Logging
import NIOCore
import RedisClient
import ServiceLifecycle
import SwitchboardProtocol
import Synchronization

/// The live side of a node as a `Service`: the pub/sub subscriber and the
/// per-loop session timers. On graceful shutdown it closes every WebSocket
/// with 1001 (clients reconnect elsewhere and `resume`).
final class LiveService: Service {
    let live: LiveContext

    init(live: LiveContext) {
        self.live = live
    }

    func run() async throws {
        let hub = live.hub
        hub.startTimers()
        await withGracefulShutdownHandler {
            try? await hub.subscriber.run()
        } onGracefulShutdown: {
            self.live.draining.store(true, ordering: .relaxed)
            hub.forEachLoop { loop in
                for session in loop.sessions.values { session.close(code: .goingAway, reason: "node shutting down") }
            }
            hub.subscriber.stop()
        }
        hub.stopTimers()
        // Give the close frames a moment to leave.
        try? await Task.sleep(nanoseconds: 200_000_000)
    }
}
