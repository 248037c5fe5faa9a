import Foundation

/// Wall-clock time, injectable for tests.
public struct WallClock: Sendable {
    private let nowMilliseconds: @Sendable () -> Int

    public init(_ nowMilliseconds: @escaping @Sendable () -> Int) { self.nowMilliseconds = nowMilliseconds }

    /// The system clock.
    public static let system = WallClock { Int(Date().timeIntervalSince1970 * 1000) }

    /// Unix time in milliseconds.
    public var milliseconds: Int { nowMilliseconds() }
    /// Unix time in seconds.
    public var seconds: Int { nowMilliseconds() / 1000 }
}
