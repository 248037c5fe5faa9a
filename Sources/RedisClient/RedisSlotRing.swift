import NIOCore
import NIOPosix
import Synchronization

/// Which connection of a pool a request takes.
///
/// A request made on one of the group's event loops (a WebSocket session,
/// a future's callback) takes a connection that runs on that same loop,
/// round robin among them: its write leaves from that thread and its reply
/// completes there, with no hop to another loop and no wakeup of one. A
/// request from elsewhere (a Swift task) takes the next connection round
/// robin over the whole pool.
final class RedisSlotRing: Sendable {
    let slots: [RedisConnectionSlot]
    /// The slots of each event loop, by the loop's identity.
    private let local: [ObjectIdentifier: [RedisConnectionSlot]]
    private let next = Atomic<Int>(0)

    init(_ slots: [RedisConnectionSlot]) {
        self.slots = slots
        var local: [ObjectIdentifier: [RedisConnectionSlot]] = [:]
        for slot in slots { local[ObjectIdentifier(slot.eventLoop), default: []].append(slot) }
        self.local = local
    }

    func pick() -> RedisConnectionSlot {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
        if let loop = MultiThreadedEventLoopGroup.currentEventLoop, let mine = local[ObjectIdentifier(loop)] {
            return mine[index % mine.count]
        }
        return slots[index % slots.count]
    }
}
