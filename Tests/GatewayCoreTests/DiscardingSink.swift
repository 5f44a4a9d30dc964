import GatewayCore

/// A sink for links that are never started (or whose broadcasts a test does not read).
struct DiscardingSink: BroadcastSink {
    func deliver(_ batch: [RoomBroadcastFrame]) {}
    func disconnectMembers(of room: String, reason: RoomDisconnectReason) {}
    var isBacklogged: Bool { false }
}
