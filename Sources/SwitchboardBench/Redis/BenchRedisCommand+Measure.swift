import Foundation
import NIOCore
import RedisClient

/// Our client under load.
extension BenchRedisCommand {
    /// Runs `total` requests of `test` through `client` from `clients`
    /// callers, each keeping `depth` requests in flight.
    func measure(
        client: RedisClient, group: any EventLoopGroup, test: BenchTest, depth: Int, style: CallerStyle, total: Int,
        infoClient: RedisClient? = nil
    ) async throws -> ThroughputSample {
        var serverBefore = 0.0
        if let infoClient { serverBefore = try await serverCPU(infoClient) }
        let cpuBefore = ResourceUsage.processCPU()
        let start = ContinuousClock.now
        switch style {
        case .futures:
            let run = FutureRun(client: client, group: group, test: test, total: total, batch: depth)
            for _ in 0..<clients { for _ in 0..<depth { run.next() } }
            try await run.done.futureResult.get()
        case .batch:
            let run = FutureRun(client: client, group: group, test: test, total: total, batch: depth)
            for _ in 0..<clients { run.nextBatch() }
            try await run.done.futureResult.get()
        case .async:
            let issued = AtomicCounter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        try await Self.asyncCaller(client: client, test: test, depth: depth, total: total, issued: issued)
                    }
                }
                try await group.waitForAll()
            }
        }
        let elapsed = start.duration(to: .now)
        let cpu = ResourceUsage.processCPU() - cpuBefore
        var serverSpent = 0.0
        if let infoClient { serverSpent = try await serverCPU(infoClient) - serverBefore }
        return ThroughputSample(rps: Double(total) / seconds(elapsed), clientCPU: cpu / Double(total), serverCPU: serverSpent / Double(total))
    }

    /// One caller as a Swift task: sends, then awaits replies in order,
    /// topping its window up to `depth` after each.
    static func asyncCaller(
        client: RedisClient, test: BenchTest, depth: Int, total: Int, issued: AtomicCounter
    ) async throws {
        var window: [EventLoopFuture<RedisValue>] = []
        window.reserveCapacity(depth)
        var head = 0
        func issue() -> Bool {
            guard issued.next() < total else { return false }
            window.append(client.send(test.command))
            return true
        }
        for _ in 0..<depth {
            if !issue() { break }
        }
        while head < window.count {
            let reply = try await window[head].get()
            head += 1
            guard reply == test.expected else { throw BenchError("\(test.name) answered \(reply)") }
            if head == window.count {
                window.removeAll(keepingCapacity: true)
                head = 0
            }
            _ = issue()
        }
    }

    /// Server CPU seconds (user + sys) from `INFO cpu`.
    func serverCPU(_ client: RedisClient) async throws -> Double {
        let info = try await client.send("INFO", "cpu").string ?? ""
        var total = 0.0
        for line in info.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0] == "used_cpu_sys" || parts[0] == "used_cpu_user" {
                total += Double(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        return total
    }
}
