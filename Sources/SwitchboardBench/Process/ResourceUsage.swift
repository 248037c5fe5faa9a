#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU seconds (user + system) from `getrusage`: of this process, and of
/// its children that were waited for (redis-benchmark runs).
enum ResourceUsage {
    static func processCPU() -> Double { cpuSeconds(RUSAGE_SELF) }

    static func childrenCPU() -> Double { cpuSeconds(RUSAGE_CHILDREN) }

    #if canImport(Glibc)
    private static func cpuSeconds(_ who: __rusage_who) -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(who.rawValue), &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
    #else
    private static func cpuSeconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
    #endif

    private static func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
}
