import NIOCore

/// Hands each batch of room events from the broker link to every event loop: one hop per loop per
/// batch. Each event's WebSocket frame is built once here and shared (copy-on-write) by every write.
public final class BroadcastFanOut: BroadcastSink {
    private let loops: [LoopRooms]
    private let allocator = ByteBufferAllocator()
    private let metrics: GatewayMetrics

    /// A fan-out over the event loops of `group`, counting into `metrics`.
    public init(group: any EventLoopGroup, metrics: GatewayMetrics) {
        self.metrics = metrics
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
        let frames = batch.map { event in
            (room: event.room, seq: event.seq, frame: WebSocketFrameBuilder.textFrame(event.payload, allocator: allocator))
        }
        for loop in loops {
            loop.eventLoop.execute { loop.deliver(frames) }
        }
    }

    public func resync(room: String, reason: String) {
        for loop in loops {
            loop.eventLoop.execute { loop.resync(room: room, reason: reason) }
        }
    }
}
