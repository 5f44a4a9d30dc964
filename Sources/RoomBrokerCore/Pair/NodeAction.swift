/// What the broker's socket loop must do for a ``BrokerNode``, in order.
public enum NodeAction: Equatable, Sendable {
    /// Send `frame` to the gateway with ZeroMQ routing id `identity` (ROUTER socket).
    case reply(identity: [UInt8], frame: [UInt8])
    /// Publish these frames (topic, header, payload) on the XPUB socket.
    case publish([[UInt8]])
    /// Send this frame to the peer broker.
    case toPeer([UInt8])
    /// Run this work off the loop thread (``SnapshotWork/run()``), then hand its result to
    /// ``BrokerNode/finished(_:now:)``; the loop keeps serving meanwhile.
    case snapshotWork(SnapshotWork)
    /// Append this to the journal on disk (a broker started with a data folder), in order.
    case journal(JournalEntry)
}
