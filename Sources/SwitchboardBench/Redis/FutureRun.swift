import NIOCore
import RedisClient
import Synchronization

/// Callers as callback chains on the connections' event loops. With
/// `next`, every reply issues the caller's next request, so a caller with
/// `depth` requests started keeps `depth` in flight; with `nextBatch`, every
/// batch of replies issues the next batch. Either stops at `total` requests.
final class FutureRun: Sendable {
    let client: RedisClient
    let test: BenchTest
    let total: Int
    let done: EventLoopPromise<Void>
    private let batch: [RedisCommand]
    private let issued = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let failed = Atomic<Bool>(false)

    init(client: RedisClient, group: any EventLoopGroup, test: BenchTest, total: Int, batch: Int) {
        self.client = client
        self.test = test
        self.total = total
        self.batch = Array(repeating: test.command, count: batch)
        self.done = group.any().makePromise()
    }

    func nextBatch() {
        guard !failed.load(ordering: .relaxed) else { return }
        let first = issued.wrappingAdd(batch.count, ordering: .relaxed).oldValue
        guard first < total else { return }
        let count = min(batch.count, total - first)
        client.pipeline(count == batch.count ? batch : Array(batch.prefix(count))).whenComplete { result in
            switch result {
            case .success(let replies):
                if let wrong = replies.first(where: { $0 != self.test.expected }) {
                    self.fail(BenchError("\(self.test.name) answered \(wrong)"))
                    return
                }
                if self.completed.wrappingAdd(count, ordering: .relaxed).newValue == self.total {
                    self.done.succeed(())
                }
                self.nextBatch()
            case .failure(let error):
                self.fail(error)
            }
        }
    }

    func next() {
        guard !failed.load(ordering: .relaxed),
            issued.wrappingAdd(1, ordering: .relaxed).oldValue < total
        else { return }
        client.send(test.command).whenComplete { result in
            switch result {
            case .success(let reply) where reply == self.test.expected:
                if self.completed.wrappingAdd(1, ordering: .relaxed).newValue == self.total {
                    self.done.succeed(())
                }
                self.next()
            case .success(let reply):
                self.fail(BenchError("\(self.test.name) answered \(reply)"))
            case .failure(let error):
                self.fail(error)
            }
        }
    }

    private func fail(_ error: any Error) {
        if !failed.exchange(true, ordering: .relaxed) { done.fail(error) }
    }
}
