import RedisClient
import Testing

/// Hash slots and key extraction: what routing on a cluster rests on.
@Suite("Redis Cluster hash slots")
struct RedisHashSlotTests {
    @Test func slotsMatchRedis() {
        // Values from `CLUSTER KEYSLOT` on redis-server 7.0.
        #expect(RedisHashSlot(key: "foo").rawValue == 12182)
        #expect(RedisHashSlot(key: "bar").rawValue == 5061)
        #expect(RedisHashSlot(key: "chan1").rawValue == 2323)
        #expect(RedisHashSlot(key: "{user1000}.following") == RedisHashSlot(key: "user1000"))
        #expect(RedisHashSlot(key: "sb:conv:{c1}:msgs") == RedisHashSlot(key: "sb:live:conv:{c1}"))
        // An empty tag hashes the whole key; only the first tag counts.
        #expect(RedisHashSlot(key: "foo{}{bar}") != RedisHashSlot(key: "bar"))
        #expect(RedisHashSlot(key: "foo{{bar}}zap") == RedisHashSlot(key: "{bar"))
    }

    @Test func keysOfCommands() throws {
        #expect(RedisCommand("GET", ["a"]).keys == [Array("a".utf8)])
        #expect(RedisCommand("PING").keys.isEmpty)
        #expect(RedisCommand("EVALSHA", ["abc", 2, "k1", "k2", "arg"]).keys == [Array("k1".utf8), Array("k2".utf8)])
        #expect(RedisCommand("XREAD", ["COUNT", 1, "STREAMS", "s1", "s2", "0", "0"]).keys.count == 2)
        #expect(RedisCommand("ZINTER", [2, "x", "y"]).keys == [Array("x".utf8), Array("y".utf8)])
        #expect(RedisCommand("XGROUP", ["CREATE", "s1", "g", "$", "MKSTREAM"]).keys == [Array("s1".utf8)])
        #expect(RedisCommand("XINFO", ["GROUPS", "s1"]).keys == [Array("s1".utf8)])
        #expect(RedisCommand("SPUBLISH", ["ch", "msg"]).keys == [Array("ch".utf8)])
        #expect(try RedisCommand("MGET", ["{t}a", "{t}b"]).hashSlot() == RedisHashSlot(key: "t"))
        #expect(try RedisCommand("INFO").hashSlot() == nil)
    }

    @Test func crossSlotIsRefused() {
        #expect {
            try RedisCommand("MGET", ["foo", "bar"]).hashSlot()
        } throws: { error in
            (error as? RedisError)?.code == .crossSlot
        }
        #expect {
            try RedisCommand("EVALSHA", ["abc", 2, "sb:conv:{c1}", "sb:conv:{c2}"]).hashSlot()
        } throws: { error in
            (error as? RedisError)?.code == .crossSlot
        }
    }

    @Test func parsesSeeds() throws {
        #expect(
            try RedisClusterConfiguration.addresses("10.0.0.1:7000, node-b,[::1]:7001")
                == [.tcp(host: "10.0.0.1", port: 7000), .tcp(host: "node-b", port: 6379), .tcp(host: "::1", port: 7001)])
        #expect(throws: RedisError.self) { try RedisClusterConfiguration.addresses("host:notaport") }
    }
}
