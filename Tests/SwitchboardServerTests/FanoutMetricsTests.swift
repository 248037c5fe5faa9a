import Foundation
import SwitchboardClient
import Testing

/// The node-side fan-out histogram `scripts/bench` reports beside its clients' figures.
@Suite("Fan-out metrics")
struct FanoutMetricsTests {
    /// The `_count` of a histogram on `/metrics` (the registry is per process: compare, don't expect a value).
    private func count(_ name: String, on node: TestNode) async throws -> Double {
        let text = try await node.request("GET", "/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + "_count") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    @Test func deliveredMessagesAreTimedOnTheNode() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let conv = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let receiver = try await LiveClient.authenticated(node, bob)
        let sender = try await LiveClient.authenticated(node, alice)
        let name = "switchboard_fanout_node_delay_seconds"
        let before = try await count(name, on: node)
        for index in 1...3 {
            _ = try await sender.command(["op": "send", "conv": conv, "text": "timed \(index)"])
        }
        _ = try await receiver.waitFor(timeout: 10) { ($0["message"] as? [String: Any])?["text"] as? String == "timed 3" }
        var after = before
        for _ in 0..<100 where after < before + 3 {
            after = try await count(name, on: node)
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(after >= before + 3, "\(name)_count went from \(before) to \(after)")
        let text = try await node.request("GET", "/metrics").text
        #expect(text.contains(name + "_bucket{le=\"2.5e-05\"}") || text.contains(name + "_bucket{le=\"0.000025\"}"))
        await receiver.close()
        await sender.close()
        await node.stop()
    }
}
