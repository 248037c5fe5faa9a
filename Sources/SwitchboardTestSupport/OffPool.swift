import Foundation

/// Blocking work (a child process to wait for, `openssl` making keys) on a
/// thread of its own. The test process runs every in-process node and test
/// on Swift's cooperative pool, which has one thread per core: two tests
/// waiting for `redis-cli --cluster create` on a 2-core machine would stall
/// every node in the process for seconds, and unrelated tests time out.
public enum OffPool {
    /// Runs `body` on a new thread and returns what it returns or throws.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.start()
        }
    }

    /// Waits for `process` to exit without holding a cooperative thread.
    public static func waitUntilExit(_ process: Process) async {
        _ = try? await run { process.waitUntilExit() }
    }
}
