import NIOCore

/// Keep-alive connections over the endpoints; jobs run on `concurrency` workers.
struct HTTPPool: Sendable {
    let endpoints: [Endpoint]
    let group: any EventLoopGroup

    /// Runs `body` on a fresh connection to the first endpoint, then closes it.
    func withConnection<T: Sendable>(_ body: (HTTPConnection) async throws -> T) async throws -> T {
        let connection = try await HTTPConnection.connect(endpoints[0], group: group)
        do {
            let value = try await body(connection)
            await connection.close()
            return value
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Runs `body(connection, job)` for jobs 0..<count and returns their
    /// results by job; a failed job is retried once on a fresh connection, a
    /// second failure fails the run. Worker w talks to endpoint w % endpoints.
    @discardableResult
    func parallel<T: Sendable>(
        _ count: Int, concurrency: Int, _ body: @escaping @Sendable (HTTPConnection, Int) async throws -> T
    ) async throws -> [T] {
        guard count > 0 else { return [] }
        let next = AtomicCounter()
        let endpoints = self.endpoints
        let group = self.group
        return try await withThrowingTaskGroup(of: [(Int, T)].self) { tasks in
            for worker in 0..<min(concurrency, count) {
                tasks.addTask {
                    let endpoint = endpoints[worker % endpoints.count]
                    var connection = try await HTTPConnection.connect(endpoint, group: group)
                    var done: [(Int, T)] = []
                    while true {
                        let job = next.next()
                        guard job < count else { break }
                        do {
                            done.append((job, try await body(connection, job)))
                        } catch {
                            await connection.close()
                            connection = try await HTTPConnection.connect(endpoint, group: group)
                            done.append((job, try await body(connection, job)))
                        }
                    }
                    await connection.close()
                    return done
                }
            }
            var results = [T?](repeating: nil, count: count)
            for try await done in tasks {
                for (job, value) in done { results[job] = value }
            }
            return results.map { $0! }
        }
    }
}
