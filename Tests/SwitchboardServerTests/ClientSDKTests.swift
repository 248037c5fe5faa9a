import Foundation
import RedisClient
import SwitchboardClient
import SwitchboardCore
import Testing

/// Collects what an SDK client reports.
actor EventLog {
    var messages: [Message] = []
    var connects = 0
    func add(_ event: ChatEvent) {
        switch event {
        case .message(let message): messages.append(message)
        case .connected: connects += 1
        default: break
        }
    }
}

@Suite("Swift client SDK", .serialized)
struct ClientSDKTests {
    @Test func sdkSendsReceivesAndResumesAfterItsNodeIsKilled() async throws {
        var configuration = TestNode.configuration()
        configuration.live.presenceTTL = 2
        configuration.limits.sendBurst = 10_000
        configuration.nodeID = "n_sdkvictim" + RandomID.make(length: 4)
        let victim = try await NodeProcess(configuration: configuration, arguments: ["--send-burst", "10000"])
        var survivorConfiguration = configuration
        survivorConfiguration.nodeID = "n_sdksurvivor" + RandomID.make(length: 4)
        let survivor = try await TestNode.start(survivorConfiguration)
        let alice = try await survivor.register()
        let bob = try await survivor.register()
        let conv = try await survivor.create(["kind": "group", "name": "SDK", "members": [alice.id]], as: bob)["id"] as! String

        var clientConfiguration = SwitchboardClient.Configuration(
            endpoints: [("127.0.0.1", victim.port), ("127.0.0.1", survivor.port)],
            token: { alice.accessToken })
        clientConfiguration.initialBackoff = 0.05
        let client = SwitchboardClient(configuration: clientConfiguration)
        let log = EventLog()
        let collector = Task { for await event in client.events { await log.add(event) } }
        try await client.connect()
        let first = try await client.send("hello from the SDK", to: conv)
        #expect(first.seq == 1)

        let conversations = survivor.switchboard.conversations
        let total = 120
        let flow = Task {
            for index in 1...total {
                _ = try await conversations.send(conv, from: bob.id, text: "bob \(index)", nonce: nil)
                try await Task.sleep(nanoseconds: 5_000_000)
            }
        }
        try await Task.sleep(nanoseconds: 150_000_000)
        victim.kill(SIGKILL)
        // A send during the outage is retried with the same nonce after the reconnect.
        let during = try await client.send("sent while reconnecting", to: conv)
        try await flow.value
        let last = total + 2
        for _ in 0..<400 {
            if await log.messages.contains(where: { $0.seq == last }) { break }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        let received = await log.messages.filter { $0.conv == conv }.map(\.seq)
        #expect(Set(received).count == received.count, "duplicates in \(received.count) events")
        #expect(
            Set(received).union([first.seq, during.seq]) == Set(1...last),
            "gap: missing \(Set(1...last).subtracting(received).subtracting([first.seq, during.seq]).sorted().prefix(10))")
        #expect(await log.connects >= 2)
        #expect(await client.contiguousPositions[conv] == last)
        // Stored once, though retried.
        #expect(try await survivor.redis.send("XLEN", survivor.keys.messages(conv)).int == last)
        await client.close()
        collector.cancel()
        await survivor.stop()
    }
}
