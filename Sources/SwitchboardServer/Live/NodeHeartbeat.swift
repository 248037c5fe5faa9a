import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore

/// Keeps this node's presence entries alive and cleans up after dead nodes.
///
/// Every third of the presence TTL: one pipeline refreshes every local
/// connection's `sb:sockets:{U}` entry and `sb:presence:{U}`, the node's key
/// `sb:node:<id>` and its place in `sb:nodes`; then any node whose heartbeat
/// is older than one TTL is swept (its users' entries removed, offline
/// published) by whichever node claims it first. On graceful shutdown the
/// node removes its own entries at once. A beat also trims the heap
/// (`MallocTuning`) when `HeapTrimPolicy` says memory was freed.
final class NodeHeartbeat: Service {
    let live: LiveContext
    let address: String
    let started: Int

    init(live: LiveContext, address: String) {
        self.live = live
        self.address = address
        self.started = live.switchboard.clock.milliseconds
    }

    func run() async throws {
        // A previous run under the same node id may have died: clean up after it first.
        try? await live.switchboard.presence.removeNode(live.switchboard.configuration.nodeID)
        let interval = max(0.05, live.configuration.presenceTTL / 3)
        await cancelWhenGracefulShutdown {
            var trimPolicy = HeapTrimPolicy()
            while !Task.isCancelled {
                await self.beat(trimPolicy: &trimPolicy)
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            }
        }
        // Shutting down: this node's connections are closed (1001); remove its entries now.
        do {
            try await live.switchboard.presence.removeNode(live.switchboard.configuration.nodeID)
        } catch {
            live.logger.warning("could not remove this node's presence entries", metadata: ["error": "\(error)"])
        }
    }

    func beat(trimPolicy: inout HeapTrimPolicy) async {
        let switchboard = live.switchboard
        let node = switchboard.configuration.nodeID
        let connections = await live.hub.localConnections()
        live.hub.sendLimiter.prune()
        let connectionCount = connections.values.reduce(0) { $0 + $1.count }
        let messagesPerSecond = live.followUp.tally.rate(now: switchboard.clock.milliseconds)
        do {
            try await switchboard.presence.refresh(connections)
            try await switchboard.presence.nodeHeartbeat(
                node: node, address: address, started: started,
                connections: connectionCount, users: Array(connections.keys), messagesPerSecond: messagesPerSecond)
            let swept = try await switchboard.presence.sweepDeadNodes(except: node)
            for dead in swept { live.logger.notice("cleaned up after a dead node", metadata: ["dead": "\(dead)"]) }
        } catch {
            live.logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
        }
        // What a burst of connects or messages freed goes back to the kernel.
        if live.configuration.mallocTrim, trimPolicy.shouldTrim(connections: connectionCount, messagesPerSecond: messagesPerSecond) {
            MallocTuning.trim()
        }
    }
}
