import Foundation
import RedisClient
import SwitchboardCore
import Testing

@Suite("Lua scripts are ready for Redis Cluster")
struct LuaClusterTests {
    @Test func everyScriptHasTheShebang() {
        // Redis 7 checks a `#!lua` script's keys against its slot (the
        // "allow-cross-slot-keys" flag is never given); a script without it
        // would be let through cross-slot on a cluster node that owns both slots.
        for script in LuaScripts.all {
            #expect(script.source.hasPrefix("#!lua\n"), "lua/\(script.name).lua: first line must be #!lua")
        }
    }

    @Test func publishingScriptsNameTheirCommandOnce() {
        for script in LuaScripts.all where script.source.contains("redis.call(PUBLISH") {
            #expect(script.source.contains(#"local PUBLISH = "PUBLISH""#), "lua/\(script.name).lua")
        }
        for script in LuaScripts.all {
            // A literal publish would stay PUBLISH in the cluster copy.
            #expect(!script.source.lowercased().contains(#"redis.call("publish""#), "lua/\(script.name).lua publishes literally")
            #expect(!script.source.lowercased().contains(#"redis.call('publish'"#), "lua/\(script.name).lua publishes literally")
        }
    }

    @Test func theClusterCopyPublishesSharded() {
        var configuration = SwitchboardConfiguration()
        #expect(LuaScripts.scripts(for: configuration) == LuaScripts.all)
        #expect(configuration.publishCommand == "PUBLISH")
        configuration.redisClusterMode = true
        #expect(configuration.publishCommand == "SPUBLISH")
        let sharded = LuaScripts.scripts(for: configuration)
        #expect(sharded.map(\.name) == LuaScripts.all.map(\.name))
        let send = sharded.first { $0.name == "send" }!.source
        #expect(send.contains(#"local PUBLISH = "SPUBLISH""#))
        #expect(!send.contains(#"local PUBLISH = "PUBLISH""#))
        // Scripts that do not publish are the same text.
        #expect(sharded.first { $0.name == "rate_limit" } == LuaScripts.all.first { $0.name == "rate_limit" })
    }

    @Test func eventsAreRefusedOnACluster() {
        var configuration = SwitchboardConfiguration()
        configuration.redisClusterMode = true
        #expect(throws: SwitchboardError.self) { try configuration.validate() }
        configuration.events.enabled = false
        #expect(throws: Never.self) { try configuration.validate() }
    }
}
