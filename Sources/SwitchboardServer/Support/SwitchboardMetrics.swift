import Metrics
import Prometheus
import Synchronization

/// The process-wide Prometheus registry behind `/metrics`.
///
/// swift-metrics can be bootstrapped once per process; every node in the
/// process (tests run several) shares this registry.
public enum SwitchboardMetrics {
    private static let bootstrapped = Mutex(false)

    /// The registry `/metrics` prints.
    public static var registry: PrometheusCollectorRegistry { PrometheusMetricsFactory.defaultRegistry }

    /// Bootstraps swift-metrics with Prometheus, once.
    public static func bootstrap() {
        bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [
                .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
            ]
            // The node-side fan-out delay is what `scripts/bench` compares with
            // its clients' figures: fine buckets from 25 µs to 5 s.
            factory.durationHistogramBuckets["switchboard_fanout_node_delay_seconds"] = [
                .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(200), .microseconds(300),
                .microseconds(500), .microseconds(750), .milliseconds(1), .milliseconds(1.5), .milliseconds(2),
                .milliseconds(3), .milliseconds(5), .milliseconds(7.5), .milliseconds(10), .milliseconds(15),
                .milliseconds(20), .milliseconds(30), .milliseconds(50), .milliseconds(75), .milliseconds(100),
                .milliseconds(150), .milliseconds(200), .milliseconds(300), .milliseconds(500), .milliseconds(750),
                .seconds(1), .seconds(2), .seconds(5),
            ]
            MetricsSystem.bootstrap(factory)
        }
    }

    /// The Prometheus text exposition of every metric.
    public static func render() -> [UInt8] { registry.emitToBuffer() }
}
