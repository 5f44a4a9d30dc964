import ChatWire

/// One message between the two brokers of a pair: one ZeroMQ frame, version first
/// (docs/PROTOCOL.md, "Replication").
public enum PeerMessage: Equatable, Sendable {
    /// Heartbeat, every ``BrokerPair/heartbeatMilliseconds`` both ways.
    case status(PeerStatus)
    /// Standby to active: send me a snapshot (tagged `sync`, echoed in its chunks).
    case syncRequest(sync: UInt64)
    /// Active to standby: part `index` of the snapshot taken after update `base`.
    case snapshot(sync: UInt64, base: UInt64, index: UInt32, last: Bool, bytes: [UInt8])
    /// Active to standby: the input numbered `seq` and a digest of what it produced.
    case update(seq: UInt64, input: BrokerInput, digest: UInt64)
    /// Active to standby: consecutive updates in one message (what a pass of the active's loop applied),
    /// acknowledged with one `ack`.
    case updates([Update])
    /// Standby to active: every update up to `seq` is applied.
    case ack(seq: UInt64)
    /// Standby to active: snapshot `sync`'s parts up to `index` arrived (flow control: the active keeps
    /// at most ``chunkWindow`` parts unconfirmed, so heartbeats and updates never queue behind a whole
    /// snapshot).
    case snapshotReceived(sync: UInt64, index: UInt32)
    /// Active to standby: I am stopping; take over now with a term above `term`.
    case handover(term: UInt64)

    /// One input of ``updates(_:)``, as in ``update(seq:input:digest:)``.
    public struct Update: Equatable, Sendable {
        public var seq: UInt64
        public var input: BrokerInput
        public var digest: UInt64

        public init(seq: UInt64, input: BrokerInput, digest: UInt64) {
            self.seq = seq
            self.input = input
            self.digest = digest
        }
    }

    /// Format version of peer messages.
    public static let version: UInt8 = 2
    /// Most bytes of one message (a snapshot chunk, or an update carrying a 1 MiB command).
    public static let maxSize = WireFormat.maxFrameSize + (64 << 10)
    /// Bytes of snapshot per chunk.
    public static let chunkSize = 256 << 10
    /// Snapshot parts an active sends ahead of the standby's ``snapshotReceived(sync:index:)``.
    public static let chunkWindow: UInt32 = 8

    /// The frame.
    public func encoded() -> [UInt8] {
        var writer = WireWriter(capacity: 64)
        writer.write(Self.version)
        switch self {
        case .status(let status):
            writer.write(UInt8(1))
            writer.write(status.state.rawValue)
            writer.write(status.term)
            writer.write(UInt8(status.isPrimary ? 1 : 0))
            writer.write(UInt8(status.hasState ? 1 : 0))
            writer.write(status.position)
        case .syncRequest(let sync):
            writer.write(UInt8(2))
            writer.write(sync)
        case .snapshot(let sync, let base, let index, let last, let bytes):
            writer.write(UInt8(3))
            writer.write(sync)
            writer.write(base)
            writer.write(index)
            writer.write(UInt8(last ? 1 : 0))
            writer.write(blob: bytes)
        case .update(let seq, let input, let digest):
            writer.write(UInt8(4))
            writer.write(seq)
            writer.write(digest)
            input.write(to: &writer)
        case .ack(let seq):
            writer.write(UInt8(5))
            writer.write(seq)
        case .handover(let term):
            writer.write(UInt8(6))
            writer.write(term)
        case .snapshotReceived(let sync, let index):
            writer.write(UInt8(7))
            writer.write(sync)
            writer.write(index)
        case .updates(let updates):
            writer.write(UInt8(8))
            writer.write(UInt32(updates.count))
            for update in updates {
                writer.write(update.seq)
                writer.write(update.digest)
                update.input.write(to: &writer)
            }
        }
        return writer.bytes
    }

    /// Decodes one frame.
    public static func decode(_ frame: [UInt8]) throws(WireError) -> PeerMessage {
        var reader = try WireReader(frame, limit: maxSize)
        let version = try reader.readByte("version")
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let kind = try reader.readByte("kind")
        let message: PeerMessage
        switch kind {
        case 1:
            let stateByte = try reader.readByte("state")
            guard let state = PairState(rawValue: stateByte) else { throw .unknownKind(stateByte) }
            let term = try reader.readUInt64("term")
            let isPrimary = try reader.readByte("primary") == 1
            let hasState = try reader.readByte("has state") == 1
            let position = try reader.readUInt64("position")
            message = .status(
                PeerStatus(state: state, term: term, isPrimary: isPrimary, hasState: hasState, position: position)
            )
        case 2:
            message = .syncRequest(sync: try reader.readUInt64("sync"))
        case 3:
            let sync = try reader.readUInt64("sync")
            let base = try reader.readUInt64("base")
            let index = try reader.readUInt32("index")
            let last = try reader.readByte("last") == 1
            message = .snapshot(sync: sync, base: base, index: index, last: last, bytes: try reader.readBlob("chunk"))
        case 4:
            let seq = try reader.readUInt64("seq")
            let digest = try reader.readUInt64("digest")
            message = .update(seq: seq, input: try BrokerInput.read(from: &reader), digest: digest)
        case 5:
            message = .ack(seq: try reader.readUInt64("seq"))
        case 6:
            message = .handover(term: try reader.readUInt64("term"))
        case 7:
            message = .snapshotReceived(sync: try reader.readUInt64("sync"), index: try reader.readUInt32("index"))
        case 8:
            let count = Int(try reader.readUInt32("update count"))
            // Each update takes at least its seq, digest, input kind and clock: refuse counts the frame cannot hold.
            guard count <= reader.remaining / 33 else { throw .truncated(field: "updates") }
            var updates: [Update] = []
            updates.reserveCapacity(count)
            for _ in 0..<count {
                let seq = try reader.readUInt64("seq")
                let digest = try reader.readUInt64("digest")
                updates.append(Update(seq: seq, input: try BrokerInput.read(from: &reader), digest: digest))
            }
            message = .updates(updates)
        default:
            throw .unknownKind(kind)
        }
        try reader.finish()
        return message
    }
}
