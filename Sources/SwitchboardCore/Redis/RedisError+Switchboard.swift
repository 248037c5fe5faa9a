import RedisClient

extension SwitchboardError {
    /// Maps a Redis failure to what a client sees: connection trouble is
    /// `unavailable`; a script's `CODE message` error reply keeps its meaning.
    public init(redis error: any Error) {
        if let error = error as? SwitchboardError {
            self = error
            return
        }
        guard let error = error as? RedisError else {
            self.init(.internalError, "internal error")
            return
        }
        if error.isConnectionError {
            self.init(.unavailable, "storage unavailable, try again")
            return
        }
        let text = error.message
        let parts = text.split(separator: " ", maxSplits: 1)
        let message = parts.count > 1 ? String(parts[1]) : text
        switch parts.first {
        case "NOT_FOUND": self.init(.notFound, message)
        case "NOT_MEMBER": self.init(.notMember, message)
        case "FORBIDDEN": self.init(.forbidden, message)
        case "INVALID": self.init(.invalidRequest, message)
        case "CONFLICT": self.init(.conflict, message)
        case "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "OOM", "MISCONF":
            self.init(.unavailable, "storage unavailable, try again")
        default: self.init(.internalError, "internal error")
        }
    }
}

/// Runs a Redis operation, turning its failures into `SwitchboardError`s.
@inlinable
func mapRedis<T>(_ body: () async throws -> T) async throws(SwitchboardError) -> T {
    do {
        return try await body()
    } catch {
        throw SwitchboardError(redis: error)
    }
}
