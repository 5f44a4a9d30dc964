import NIOCore

/// A connection with room memberships on one event loop, as ``LoopRooms`` writes to it: the
/// connection, and the bytes of the current pass due to it. One per connection, shared by its
/// memberships on the loop, so a pass coalesces its frames of every room into one run.
final class FanOutRecipient {
    /// Where the frames go.
    let connection: EngineConnection
    /// The bytes of the current pass due to the connection and not written yet.
    var pendingRun: Range<Int>?
    /// The memberships that refer to it (``LoopRooms`` forgets it at zero).
    var memberships = 0

    init(connection: EngineConnection) {
        self.connection = connection
    }
}
