import RedisClient

/// One benchmark command and the reply it must get.
struct BenchTest: Sendable {
    var name: String
    var redisBenchmarkName: String
    var command: RedisCommand
    var expected: RedisValue
}
