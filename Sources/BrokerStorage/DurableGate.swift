import ChatWire
import DequeModule
import RoomBrokerCore

/// Holds replies and broadcasts until the journal has the inputs they follow from (`--fsync always`):
/// each is tagged with the node's last update when it was released, and goes out, in order, once the
/// disk has that update. Other actions pass.
public struct DurableGate: Sendable {
    private var held = Deque<(position: UInt64, action: NodeAction)>()

    /// An empty gate.
    public init() {}

    /// How many actions wait.
    public var count: Int { held.count }

    /// `action`, released after update `position`, when it may go now (nothing waits and the disk has
    /// `position`); nil when it is held.
    public mutating func pass(_ action: NodeAction, position: UInt64, durable: UInt64) -> NodeAction? {
        switch action {
        case .reply(_, let frame) where Self.promisesNothing(frame):
            return action
        case .reply, .publish:
            if held.isEmpty, durable >= position { return action }
            held.append((position, action))
            return nil
        case .toPeer, .snapshotWork, .journal:
            return action
        }
    }

    /// Whether a reply says only that the broker is alive or how it stands (a heartbeat or status
    /// reply, by its kind byte): it goes out at once, as it does past a slow standby. Held behind the
    /// disk, it would make gateways fail over whenever the journal is slow.
    static func promisesNothing(_ frame: [UInt8]) -> Bool {
        frame.count > 1 && (frame[1] == CommandKind.heartbeat.rawValue || frame[1] == CommandKind.status.rawValue)
    }

    /// The held actions the disk now covers, oldest first.
    public mutating func release(durable: UInt64) -> [NodeAction] {
        var released: [NodeAction] = []
        while let first = held.first, first.position <= durable {
            released.append(first.action)
            held.removeFirst()
        }
        return released
    }

    /// Every held action (the journal cannot be written: durability is suspended, not service).
    public mutating func releaseAll() -> [NodeAction] {
        defer { held.removeAll() }
        return held.map(\.action)
    }
}
