/// One line of the result: the table row, or the `--json` object.
struct ResultRow: Encodable {
    var test: String
    var pipeline: Int
    var clients: Int
    var requests: Int
    var connections: Int
    var threads: Int
    var callers: String
    var rounds: Int
    var switchboardRPS: Double
    var redisBenchmarkRPS: Double
    var ratio: Double
    var switchboardCPUMicros: Double
    var redisBenchmarkCPUMicros: Double
    var serverCPUMicrosSwitchboard: Double
    var serverCPUMicrosRedisBenchmark: Double
    var backgroundCores: Double?

    enum CodingKeys: String, CodingKey {
        case test, pipeline, clients, requests, connections, threads, callers, rounds, ratio
        case switchboardRPS = "switchboard_rps"
        case redisBenchmarkRPS = "redis_benchmark_rps"
        case switchboardCPUMicros = "switchboard_cpu_us_per_req"
        case redisBenchmarkCPUMicros = "redis_benchmark_cpu_us_per_req"
        case serverCPUMicrosSwitchboard = "server_cpu_us_per_req_switchboard"
        case serverCPUMicrosRedisBenchmark = "server_cpu_us_per_req_redis_benchmark"
        case backgroundCores = "background_cores"
    }
}
