import NIOCore

/// The room frames one event loop delivered while a session's `resume` was in flight.
///
/// The rooms of a resumed session are known only from the broker's reply, and events after the
/// session's `resumed` event may reach the loop before that reply does (broadcasts and replies travel
/// on different sockets). The loop keeps every frame it delivers during the window (shared buffers,
/// not copies), so the session can write those of its rooms before any later live event.
final class ResumeWindow {
    /// Most frames one window keeps; past it the window is overflowed and the resume is abandoned.
    static let limit = 16_384

    /// The frames, in delivery order.
    private(set) var frames: [(room: String, seq: UInt64, frame: ByteBuffer)] = []
    /// True once more than ``limit`` frames arrived: some were not kept.
    private(set) var overflowed = false

    /// Keeps `frames`, unless that would pass the limit.
    func record(_ more: [(room: String, seq: UInt64, frame: ByteBuffer)]) {
        guard !overflowed else { return }
        guard frames.count + more.count <= Self.limit else {
            overflowed = true
            frames = []
            return
        }
        frames += more
    }
}
