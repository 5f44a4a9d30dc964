import ChatWire

/// The broker's whole state at one moment, as the active sends it to a standby that (re)joins: the
/// Clone pattern's snapshot, followed by the updates after it (docs/ARCHITECTURE.md, "Standby broker").
///
/// Sent only between the two brokers of a pair, which trust each other; encoded in the binary snapshot
/// format (``SnapshotEncoder``: byte arrays copied whole, field names once, checksummed), off any event
/// loop (the broker has none). Equal states encode to equal bytes.
public struct BrokerSnapshot: Sendable, Codable {
    /// Rooms, members, password hashes, history, replay buffers and limits.
    public var registry: RoomRegistry
    /// Known gateways and their clock relations.
    public var gateways: GatewayTable
    /// Rooms whose head is still to be published.
    public var unannounced: [String: UInt64]
    /// The state's id (kept across takeovers).
    public var instance: String
    /// Commands dropped for waiting past their ttl.
    public var expiredCommands: Int
    /// The fencing term the state was last made active in.
    public var term: UInt64

    /// The snapshot as bytes.
    public func encoded() throws -> [UInt8] {
        var encoder = SnapshotEncoder()
        // History and replay are nearly all of it (counted with some overhead each): one buffer a little
        // larger, never regrown (pages never written cost no memory).
        encoder.expectedSize = registry.storedBytes + registry.storedBytes / 8 + (1 << 20)
        return try encoder.encode(self)
    }

    /// A snapshot from bytes made by ``encoded()``; throws a ``SnapshotCodingError`` for damaged ones.
    public static func decode(_ bytes: [UInt8]) throws -> BrokerSnapshot {
        try SnapshotDecoder().decode(BrokerSnapshot.self, from: bytes)
    }
}
