import NIOCore
import SocketIO
import Synchronization

/// Hands the room events from the broker link to every event loop.
///
/// Each event's WebSocket frame is built once per loop that has members of its room, straight into
/// that loop's inbox buffer (see ``FanOutBatch``), so a loop's writes share storage only with its own
/// thread; a loop without members of the room gets nothing. A loop gets one hop
/// per pass, not per batch: while a pass is scheduled and has not started, later batches join it, so
/// a busy loop writes more frames per connection per flush instead of queueing more passes. With a
/// ``coalescingWindow``, a batch whose rooms all had an event within the window (busy rooms: their
/// members are due several frames per window) waits until the window since the loop's last pass has
/// passed; an event of a quiet room goes out at once. Up to that much latency, in busy rooms only,
/// buys fewer and larger writes: the cost of a write to a socket hardly depends on its size.
///
/// The bytes waiting for a loop are counted; past ``maxQueuedBytes`` on any loop the sink reports
/// itself backlogged and the link stops reading broadcasts, so a stalled loop's queue stays bounded
/// (ZeroMQ's high-water marks hold the rest, and what they drop is replayed by sequence number).
public final class BroadcastFanOut: BroadcastSink {
    /// The default of ``maxQueuedBytes``: about 2,000 chat messages.
    public static let defaultMaxQueuedBytes = 256 * 1024

    private let loops: [LoopRooms]
    private let metrics: GatewayMetrics
    /// Rooms with events closer together than the window (only the link's thread uses it).
    private let busyRooms: Mutex<BusyRooms>
    /// Most bytes of frames waiting for one event loop before the link pauses reading broadcasts.
    public let maxQueuedBytes: Int
    /// Least time between the starts of two passes of one loop (zero: a pass as soon as the loop is free).
    public let coalescingWindow: TimeAmount
    /// Connection-state recovery: each event gets its offset `"<instance>.<gseq>"` as last argument.
    public let appendsOffsets: Bool

    /// A fan-out over the event loops of `group`, counting into `metrics`; with `appendsOffsets`
    /// (connection-state recovery) each room event carries its offset as last argument.
    public init(
        group: any EventLoopGroup,
        metrics: GatewayMetrics,
        maxQueuedBytes: Int = defaultMaxQueuedBytes,
        coalescingWindow: TimeAmount = .zero,
        appendsOffsets: Bool = false
    ) {
        self.metrics = metrics
        self.maxQueuedBytes = maxQueuedBytes
        self.coalescingWindow = max(.zero, coalescingWindow)
        self.appendsOffsets = appendsOffsets
        busyRooms = Mutex(BusyRooms(window: UInt64(max(0, coalescingWindow.nanoseconds))))
        loops = group.makeIterator().map { LoopRooms(eventLoop: $0, metrics: metrics) }
    }

    /// The memberships of the loop `eventLoop`.
    func rooms(on eventLoop: any EventLoop) -> LoopRooms {
        guard let rooms = loops.first(where: { $0.eventLoop === eventLoop }) else {
            preconditionFailure("event loop \(eventLoop) is not one of the fan-out's group")
        }
        return rooms
    }

    public func deliver(_ batch: [RoomBroadcastFrame]) {
        guard !batch.isEmpty else { return }
        metrics.broadcasts.increment(by: batch.count)
        let texts = appendsOffsets ? batch.map(text(of:)) : nil
        let mayWait = coalescingWindow > .zero && onlyBusyRooms(in: batch)
        for loop in loops {
            var appended = 0
            let schedule = loop.inbox.withLock { inbox in
                let before = inbox.batch.bytes.writerIndex
                for (index, event) in batch.enumerated() where inbox.wants(event.room) {
                    inbox.batch.append(room: event.room, seq: event.seq, payload: texts?[index] ?? event.payload)
                }
                appended = inbox.batch.bytes.writerIndex - before
                guard appended > 0 else { return false }
                let wasScheduled = inbox.passScheduled
                inbox.passScheduled = true
                return !wasScheduled
            }
            loop.queuedBytes.add(appended, ordering: .relaxed)
            if schedule { schedulePass(of: loop, mayWait: mayWait) }
        }
    }

    /// Whether every event of `batch` is of a room whose previous event came within the window
    /// (recording them all).
    private func onlyBusyRooms(in batch: [RoomBroadcastFrame]) -> Bool {
        let now = (loops.first?.eventLoop.now ?? .now()).uptimeNanoseconds
        return busyRooms.withLock { rooms in
            var allBusy = true
            for event in batch where !rooms.recordEvent(of: event.room, now: now) {
                allBusy = false
            }
            return allBusy
        }
    }

    /// Starts a pass of `loop` now or, with `mayWait`, once ``coalescingWindow`` has passed since its
    /// last one.
    private func schedulePass(of loop: LoopRooms, mayWait: Bool) {
        if mayWait {
            let due =
                NIODeadline.uptimeNanoseconds(loop.lastPassNanoseconds.load(ordering: .relaxed)) + coalescingWindow
            if due > loop.eventLoop.now {
                loop.eventLoop.scheduleTask(deadline: due) { loop.runPass() }
                return
            }
        }
        loop.eventLoop.execute { loop.runPass() }
    }

    /// The client text of `event`: the broker's bytes, plus the offset with connection-state recovery.
    func text(of event: RoomBroadcastFrame) -> [UInt8] {
        guard appendsOffsets, event.gseq > 0 else { return event.payload }
        return ServerEventEncoder.appendingOffset(
            RecoveryOffset(instance: event.instance, gseq: event.gseq),
            to: event.payload
        )
    }

    /// The members of each room over every event loop (one hop to each loop), for `/status`.
    public func memberCounts() async -> [String: Int] {
        var total: [String: Int] = [:]
        for loop in loops {
            let counts = (try? await loop.eventLoop.submit { loop.memberCounts() }.get()) ?? [:]
            total.merge(counts, uniquingKeysWith: +)
        }
        return total
    }

    public func disconnectMembers(of room: String, reason: RoomDisconnectReason) {
        let message = reason.message(room: room)
        for loop in loops {
            loop.eventLoop.execute { loop.resync(room: room, reason: message) }
        }
    }

    public func takeOver(room: String, connectionID: UInt64, payload: [UInt8]) {
        for loop in loops {
            loop.eventLoop.execute { loop.takeOver(room: room, connectionID: connectionID, payload: payload) }
        }
    }

    public var isBacklogged: Bool {
        loops.contains { $0.queuedBytes.load(ordering: .relaxed) >= maxQueuedBytes }
    }
}
