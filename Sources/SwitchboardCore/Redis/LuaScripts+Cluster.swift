import Foundation
import RedisClient

extension LuaScripts {
    /// The line of every publishing script that names its publish command.
    static let publishLine = #"local PUBLISH = "PUBLISH""#

    /// The scripts as a Redis Cluster node loads them: `SPUBLISH` (sharded
    /// pub/sub, in the slot of the script's own keys, which is the slot of the
    /// channel: both carry the same `{C}` or `{U}` tag) instead of `PUBLISH`.
    /// The files in `lua/` stay the one source; only that line differs.
    public static let sharded: [RedisScript] = all.map(sharded)

    /// One script with its publish command switched to `SPUBLISH`.
    static func sharded(_ script: RedisScript) -> RedisScript {
        RedisScript(name: script.name, source: script.source.replacingOccurrences(of: publishLine, with: #"local PUBLISH = "SPUBLISH""#))
    }

    /// The scripts for this configuration: `sharded` on a cluster, else `all`.
    public static func scripts(for configuration: SwitchboardConfiguration) -> [RedisScript] {
        configuration.isClusterMode ? sharded : all
    }
}

extension SwitchboardConfiguration {
    /// The command that publishes a live event outside the scripts:
    /// `SPUBLISH` on Redis Cluster (the hub `SSUBSCRIBE`s), else `PUBLISH`.
    public var publishCommand: String { isClusterMode ? "SPUBLISH" : "PUBLISH" }
}
