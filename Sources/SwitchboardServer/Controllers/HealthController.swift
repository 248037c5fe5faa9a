import Hummingbird
import NIOCore
import SwitchboardCore

/// `/health`, `/ready` and `/metrics`, outside the API prefix.
struct HealthController {
    let switchboard: Switchboard
    /// True while the node drains on shutdown: /ready turns 503 so load balancers stop sending new clients.
    let draining: @Sendable () -> Bool

    func register(on router: Router<SwitchboardRequestContext>) {
        router.get("health") { _, _ in
            try JSONCoding.response(["status": "ok"])
        }
        router.get("ready") { _, _ in
            if draining() { throw SwitchboardError(.unavailable, "this node is shutting down") }
            guard await switchboard.isReady() else {
                throw SwitchboardError(.unavailable, "Redis is not reachable or the scripts are not loaded")
            }
            return try JSONCoding.response(["status": "ready"])
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: SwitchboardMetrics.render())))
        }
    }
}
