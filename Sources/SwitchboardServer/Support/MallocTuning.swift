#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings for a process that holds many small, long-lived
/// objects per connection and churns through short-lived ones per connect
/// (measured in BENCHMARKS.md, "idle"): fewer arenas, and free pages handed
/// back to the kernel after bursts. Looked up at run time (`mallopt` and
/// `malloc_trim` are not in Swift's Glibc module); a no-op elsewhere.
public enum MallocTuning {
    #if canImport(Glibc)
    private typealias Trim = @convention(c) (Int) -> Int32
    private typealias Option = @convention(c) (Int32, Int32) -> Int32
    nonisolated(unsafe) private static let process = dlopen(nil, RTLD_NOW)
    #endif

    /// Caps the number of malloc arenas (glibc's default is 8 per core).
    /// Call before threads start; 0 keeps the default.
    public static func limitArenas(_ count: Int) {
        #if canImport(Glibc)
        guard count > 0, let symbol = dlsym(process, "mallopt") else { return }
        let M_ARENA_MAX: Int32 = -8
        _ = unsafeBitCast(symbol, to: Option.self)(M_ARENA_MAX, Int32(clamping: count))
        #endif
    }

    /// Returns free memory at the top and inside the heap to the kernel.
    public static func trim() {
        #if canImport(Glibc)
        guard let symbol = dlsym(process, "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
        #endif
    }
}
