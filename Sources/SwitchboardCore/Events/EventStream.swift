import NIOCore
import RedisClient

/// Where the state-changing Lua scripts append their events (`sb:events`).
///
/// Each script takes the stream as an optional last KEY and its `MAXLEN ~`
/// as the last ARGV, and XADDs its event in the same call as the change,
/// so an acknowledged change always has its event and a refused one never
/// does. Off, nothing is appended and the scripts run exactly as before.
public struct EventStream: Sendable, Hashable {
    /// The stream key, nil when events are off.
    public let key: String?
    /// `XADD MAXLEN ~` of every append; 0 never trims.
    public let maxLength: Int
    /// Whether `read.updated` is written (high volume: opt-in).
    public let includeRead: Bool

    public init(key: String?, maxLength: Int = 1_000_000, includeRead: Bool = false) {
        self.key = key
        self.maxLength = maxLength
        self.includeRead = includeRead
    }

    /// Events as configured, on the layout's stream key.
    public init(_ configuration: EventsConfiguration, keys: KeyLayout) {
        self.init(
            key: configuration.enabled ? keys.events : nil, maxLength: configuration.maxLength,
            includeRead: configuration.includeRead)
    }

    /// No events.
    public static let off = EventStream(key: nil)

    /// The stream for `read.updated`: itself, or off unless reads are included.
    public var forReads: EventStream { includeRead ? self : .off }

    /// A script's keys with the stream appended (when on).
    public func keys(_ keys: [any RedisArgumentConvertible]) -> [any RedisArgumentConvertible] {
        guard let key else { return keys }
        return keys + [key]
    }

    /// A script's arguments with the stream's MAXLEN appended (when on).
    public func arguments(_ arguments: [any RedisArgumentConvertible]) -> [any RedisArgumentConvertible] {
        guard key != nil else { return arguments }
        return arguments + [maxLength]
    }
}

extension RedisScriptRegistry {
    /// Runs a state-changing script with the event stream appended; throws error replies.
    public func evaluate(
        _ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible], events: EventStream
    ) async throws -> RedisValue {
        try await evaluate(name, keys: events.keys(keys), arguments: events.arguments(arguments))
    }

    /// `evaluate(_:keys:arguments:events:)` as a future; error replies come back as `.error`.
    public func evaluate(
        _ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible], events: EventStream
    ) -> EventLoopFuture<RedisValue> {
        evaluate(name, keys: events.keys(keys), arguments: events.arguments(arguments))
    }
}

extension RedisScriptRegistry.Call {
    /// A pipelined script call with the event stream appended.
    public init(_ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible], events: EventStream) {
        self.init(name, keys: events.keys(keys), arguments: events.arguments(arguments))
    }
}
