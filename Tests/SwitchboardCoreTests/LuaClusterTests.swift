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

    /// On a cluster the event stream is one stream per slot: every slot has a
    /// short tag that lands in it, and a script is given the stream of its
    /// own keys' slot.
    @Test func eventsGoToTheStreamOfTheScriptsSlot() throws {
        let keys = KeyLayout(prefix: "sb:")
        let misplaced = (0..<RedisHashSlot.count).filter { RedisHashSlot(key: keys.events(slot: $0)).rawValue != $0 }
        #expect(misplaced.isEmpty)
        #expect(EventSlotTags.tags.allSatisfy { (1...3).contains($0.count) })
        #expect(keys.events(slot: 0).hasPrefix(keys.perSlotEventsPrefix))
        let stream = EventStream(key: keys.events, perSlot: true)
        for conv in ["c_one", "c_two", "d_three"] {
            let appended = stream.keys([keys.conversation(conv), keys.members(conv)])
            let name = try #require(appended.last as? String)
            #expect(RedisHashSlot(key: name) == RedisHashSlot(key: keys.conversation(conv)))
            #expect(name.hasPrefix("sb:events:{"))
        }
        // One Redis: the one stream.
        #expect(EventStream(key: keys.events).keys([keys.conversation("c_one")]).last as? String == "sb:events")
        var configuration = SwitchboardConfiguration()
        configuration.redisClusterMode = true
        #expect(throws: Never.self) { try configuration.validate() }
    }
}
