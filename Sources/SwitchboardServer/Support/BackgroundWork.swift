import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Work a node starts after answering and does not wait for: notifications
/// after a send, presence after a disconnect, the replay of a pub/sub gap.
///
/// A `Service`: at most `maxConcurrent` jobs run at once, at most `maxQueued`
/// wait (more are refused, logged and counted), and on graceful shutdown the
/// service runs what is queued to the end before the Redis client stops
/// (it comes after the Redis client and before the HTTP server in the
/// node's service list).
public final class BackgroundWork: Service, Sendable {
    public typealias Job = @Sendable () async -> Void

    private let jobs: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    private let queued = Atomic<Int>(0)
    let maxConcurrent: Int
    let maxQueued: Int
    let logger: Logger
    private let refused = Counter(label: "switchboard_background_refused_total")
    private let depth = Gauge(label: "switchboard_background_queued")

    public init(maxConcurrent: Int = 64, maxQueued: Int = 100_000, logger: Logger) {
        (jobs, continuation) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .unbounded)
        self.maxConcurrent = max(1, maxConcurrent)
        self.maxQueued = max(1, maxQueued)
        self.logger = logger
    }

    /// Queues a job; `what` names it in the log if it has to be refused.
    public func submit(_ what: @autoclosure () -> String, _ job: @escaping Job) {
        let count = queued.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= maxQueued else {
            queued.wrappingSubtract(1, ordering: .relaxed)
            refused.increment()
            logger.warning("background work refused: queue full", metadata: ["job": "\(what())", "queued": "\(count - 1)"])
            return
        }
        if case .terminated = continuation.yield(job) {
            queued.wrappingSubtract(1, ordering: .relaxed)
            refused.increment()
            logger.warning("background work refused: node stopped", metadata: ["job": "\(what())"])
        }
    }

    /// Jobs queued or running.
    public var pending: Int { queued.load(ordering: .relaxed) }

    public func run() async throws {
        let continuation = self.continuation
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await job in jobs {
                    if running >= maxConcurrent {
                        await group.next()
                        running -= 1
                    }
                    running += 1
                    depth.record(queued.load(ordering: .relaxed))
                    group.addTask {
                        await job()
                        self.queued.wrappingSubtract(1, ordering: .relaxed)
                    }
                }
            }
        } onGracefulShutdown: {
            // What is queued still runs (AsyncStream delivers its buffer before it ends).
            continuation.finish()
        }
    }
}
