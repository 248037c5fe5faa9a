/// One measurement: throughput, and CPU seconds per request of the client
/// process and of redis-server.
struct ThroughputSample {
    var rps: Double
    var clientCPU: Double
    var serverCPU: Double

    /// The sample of median throughput (its CPU figures with it).
    static func median(_ samples: [ThroughputSample]) -> ThroughputSample {
        samples.sorted { $0.rps < $1.rps }[samples.count / 2]
    }
}
