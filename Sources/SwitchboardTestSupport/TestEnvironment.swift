import Foundation

/// What `scripts/test` hands the tests.
public enum TestEnvironment {
    /// The shared test Redis (`REDIS_URL`, set by scripts/test to its private redis-server).
    public static var redisURL: String {
        ProcessInfo.processInfo.environment["REDIS_URL"]
            ?? ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_REDIS_URL"]
            ?? "redis://127.0.0.1:6379"
    }

    /// Whether the shared test Redis is a single-node Redis Cluster
    /// (`SWITCHBOARD_TEST_REDIS_CLUSTER=1`, set by `scripts/test` when run
    /// with it): it owns every slot, so the plain client works, but a
    /// command or `#!lua` script touching keys of several slots is refused
    /// (CROSSSLOT). Test nodes then run in cluster mode (`SPUBLISH`, no event stream).
    public static var redisCluster: Bool {
        ["1", "on", "true", "yes"].contains(ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_REDIS_CLUSTER"] ?? "")
            || redisClusterSeeds != nil
    }

    /// The seeds of a real multi-master test cluster
    /// (`SWITCHBOARD_TEST_REDIS_CLUSTER_SEEDS`, set by `scripts/test` with
    /// `SWITCHBOARD_TEST_REDIS_CLUSTER=3`): test nodes then use the cluster
    /// client (`--redis-cluster`), so keys live on three masters and
    /// `MOVED` is followed for real.
    public static var redisClusterSeeds: String? {
        ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_REDIS_CLUSTER_SEEDS"].flatMap { $0.isEmpty ? nil : $0 }
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
