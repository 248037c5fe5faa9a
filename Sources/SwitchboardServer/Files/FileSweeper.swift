import Logging
import ServiceLifecycle
import SwitchboardCore

/// Removes the bytes of uploads whose metadata expired (never attached to a
/// message within `unattachedTTL`), every `sweepInterval`. Every node runs
/// it; removing a file twice is harmless.
struct FileSweeper: Service {
    let files: FileService
    let store: any FileStore
    let configuration: UploadsConfiguration
    let clock: WallClock
    let logger: Logger

    func run() async throws {
        let interval = Duration.milliseconds(Int64(max(configuration.sweepInterval, 1) * 1000))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let removed = try await sweep()
                if removed > 0 { logger.info("swept expired uploads", metadata: ["files": "\(removed)"]) }
            } catch {
                logger.warning("could not sweep uploads", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One sweep: files stored longer ago than the TTL whose metadata is gone. Answers how many were removed.
    @discardableResult
    func sweep() async throws -> Int {
        try await sweep(storedBefore: Int(clock.milliseconds / 1000) - configuration.unattachedTTL)
    }

    /// Removes the files stored before `cutoff` (seconds since 1970) whose metadata is gone.
    func sweep(storedBefore cutoff: Int) async throws -> Int {
        let candidates = try await store.stored(before: cutoff)
        var removed = 0
        for batch in stride(from: 0, to: candidates.count, by: 500) {
            let ids = Array(candidates[batch..<min(batch + 500, candidates.count)])
            let kept = try await files.existing(ids)
            for id in ids where !kept.contains(id) {
                try await store.remove(id)
                removed += 1
            }
        }
        return removed
    }
}
