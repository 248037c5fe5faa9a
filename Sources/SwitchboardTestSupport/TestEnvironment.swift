import Foundation

/// What `scripts/test` hands the tests.
public enum TestEnvironment {
    /// The shared test Redis (`REDIS_URL`, set by scripts/test to its private redis-server).
    public static var redisURL: String {
        ProcessInfo.processInfo.environment["REDIS_URL"]
            ?? ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_REDIS_URL"]
            ?? "redis://127.0.0.1:6379"
    }

    /// A key prefix no other test uses.
    public static func uniquePrefix(_ tag: String = "test") -> String {
        "\(tag):\(UUID().uuidString.prefix(8)):"
    }

    /// The package's root folder (where `.build` is).
    public static var packageRoot: URL {
        // Sources/SwitchboardTestSupport/TestEnvironment.swift → the root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The path of an executable in the usual places, or the bare name.
    public static func which(_ name: String) -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"] {
            let path = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return name
    }
}
