import Synchronization

/// A counter shared by tasks and event loops: hands out job numbers.
final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// The value before the increment.
    func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// Adds `count`; the value before.
    func next(_ count: Int) -> Int { value.wrappingAdd(count, ordering: .relaxed).oldValue }
}
