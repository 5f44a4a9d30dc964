import NIOCore
import SocketIO

/// Hands each batch of room events from the broker link to every event loop: one hop per loop per
/// batch. Each event's WebSocket frame is built once here and shared (copy-on-write) by every write.
///
/// The batches a loop has not run yet are counted; past ``maxQueuedBatches`` on any loop the sink
/// reports itself backlogged and the link stops reading broadcasts, so a stalled loop's queue stays
/// bounded (ZeroMQ's high-water marks hold the rest, and what they drop is replayed by sequence number).
public final class BroadcastFanOut: BroadcastSink {
    private let loops: [LoopRooms]
    private let allocator = ByteBufferAllocator()
    private let metrics: GatewayMetrics
    /// Most batches queued to one event loop before the link pauses reading broadcasts.
    public let maxQueuedBatches: Int
    /// Connection-state recovery: each event gets its offset `"<instance>.<gseq>"` as last argument.
    public let appendsOffsets: Bool

    /// A fan-out over the event loops of `group`, counting into `metrics`; with `appendsOffsets`
    /// (connection-state recovery) each room event carries its offset as last argument.
    public init(group: any EventLoopGroup, metrics: GatewayMetrics, maxQueuedBatches: Int = 64, appendsOffsets: Bool = false) {
        self.metrics = metrics
        self.maxQueuedBatches = maxQueuedBatches
        self.appendsOffsets = appendsOffsets
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
        metrics.broadcasts.increment(by: batch.count)
        // Each event's frame is built once here, its offset included, and shared by every recipient.
        let frames = batch.map { event in
            (room: event.room, seq: event.seq, frame: WebSocketFrameBuilder.textFrame(text(of: event), allocator: allocator))
        }
        for loop in loops {
            loop.queuedBatches.add(1, ordering: .relaxed)
            loop.eventLoop.execute {
                loop.deliver(frames)
                loop.queuedBatches.subtract(1, ordering: .relaxed)
            }
        }
    }

    /// The client text of `event`: the broker's bytes, plus the offset with connection-state recovery.
    func text(of event: RoomBroadcastFrame) -> [UInt8] {
        guard appendsOffsets, event.gseq > 0 else { return event.payload }
        return ServerEventEncoder.appendingOffset(RecoveryOffset(instance: event.instance, gseq: event.gseq), to: event.payload)
    }

    public func disconnectMembers(of room: String, reason: RoomDisconnectReason) {
        let message = reason.message(room: room)
        for loop in loops {
            loop.eventLoop.execute { loop.resync(room: room, reason: message) }
        }
    }

    public var isBacklogged: Bool {
        loops.contains { $0.queuedBatches.load(ordering: .relaxed) >= maxQueuedBatches }
    }
}
