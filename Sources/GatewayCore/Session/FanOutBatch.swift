import NIOCore

/// Room events waiting for one event loop, as complete WebSocket frames written back to back into
/// one buffer that belongs to that loop.
///
/// The broker link's thread appends; the loop takes the whole batch at once and writes slices of
/// `bytes` (shared storage, no copies): a connection that is due several adjacent frames gets them as
/// one slice, so one write and one flush carry them all.
struct FanOutBatch: Sendable {
    /// One frame: its room, its room sequence number and where it lies in `bytes`.
    struct Event: Sendable {
        var room: String
        var seq: UInt64
        /// Offset of the frame's first byte in `bytes`.
        var start: Int
        /// Offset just past the frame's last byte.
        var end: Int
    }

    /// The frames, back to back (reader index 0).
    private(set) var bytes: ByteBuffer
    /// The frames in delivery order.
    private(set) var events: [Event] = []

    /// An empty batch (its buffer is allocated when the first frame is appended).
    init(allocator: ByteBufferAllocator) {
        bytes = allocator.buffer(capacity: 0)
    }

    /// Whether no event is waiting.
    var isEmpty: Bool { events.isEmpty }

    /// Appends the text frame of `payload`, event `seq` of `room`.
    mutating func append<Bytes: Collection>(room: String, seq: UInt64, payload: Bytes) where Bytes.Element == UInt8 {
        let start = bytes.writerIndex
        if bytes.capacity == 0 {
            bytes.reserveCapacity(Self.initialCapacity)
        }
        WebSocketFrameBuilder.writeTextFrame(payload, into: &bytes)
        events.append(Event(room: room, seq: seq, start: start, end: bytes.writerIndex))
    }

    /// The bytes `start..<end` of the batch, sharing its storage.
    func slice(_ start: Int, _ end: Int) -> ByteBuffer {
        bytes.getSlice(at: start, length: end - start) ?? ByteBuffer()
    }

    /// A copy of `event`'s frame that does not keep the whole batch's storage alive (for frames held
    /// for a while: a pending join, a resume window).
    func copiedFrame(of event: Event) -> ByteBuffer {
        var copy = ByteBufferAllocator().buffer(capacity: event.end - event.start)
        var frame = slice(event.start, event.end)
        copy.writeBuffer(&frame)
        return copy
    }

    /// First buffer size: a few dozen small frames without growing.
    static let initialCapacity = 4_096
}
