#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Microseconds of CLOCK_MONOTONIC (shared by every client of the process,
/// and carried in the messages the live benchmark sends).
@inline(__always)
func monotonicMicros() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
}

/// Sleeps until `deadline` (monotonic µs); returns at once when it passed.
func sleep(until deadline: UInt64) async {
    let now = monotonicMicros()
    guard deadline > now else { return }
    try? await Task.sleep(nanoseconds: (deadline - now) * 1000)
}

/// Seconds since `start` (monotonic µs), to the millisecond.
func seconds(since start: UInt64) -> Double { round3(Double(monotonicMicros() - start) / 1e6) }

/// Seconds of a `Duration`.
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}
