import ChatWire

/// One input the engine applied, as the active broker ships it to its standby: applied to the same
/// state, it gives the same state and the same output (docs/PROTOCOL.md, "Replication").
public enum BrokerInput: Equatable, Sendable {
    /// A command frame from `gateway` at `now` (the active's clock), with the random values it drew.
    case command(gateway: String, frame: [UInt8], now: BrokerClock, entropy: [UInt64])
    /// A periodic tick at `now`.
    case tick(now: BrokerClock)
    /// The connection of `gateway` (its routing id) closed at `now`: its process is likely dead.
    case gatewayClosed(gateway: String, now: BrokerClock)

    /// The input's clock.
    public var now: BrokerClock {
        switch self {
        case .command(_, _, let now, _), .tick(let now), .gatewayClosed(_, let now): return now
        }
    }

    /// Appends the input to `writer`: kind, clock, then its fields.
    public func write(to writer: inout WireWriter) {
        switch self {
        case .command(let gateway, let frame, let now, let entropy):
            writer.write(UInt8(1))
            writer.write(now.monotonic)
            writer.write(now.wall)
            writer.write(gateway)
            writer.write(blob: frame)
            writer.write(UInt32(entropy.count))
            for value in entropy { writer.write(value) }
        case .tick(let now):
            writer.write(UInt8(2))
            writer.write(now.monotonic)
            writer.write(now.wall)
        case .gatewayClosed(let gateway, let now):
            writer.write(UInt8(3))
            writer.write(now.monotonic)
            writer.write(now.wall)
            writer.write(gateway)
        }
    }

    /// Reads an input written by ``write(to:)``.
    public static func read(from reader: inout WireReader) throws(WireError) -> BrokerInput {
        let kind = try reader.readByte("input kind")
        let now = BrokerClock(
            monotonic: try reader.readUInt64("input monotonic"),
            wall: try reader.readUInt64("input wall")
        )
        switch kind {
        case 1:
            let gateway = try reader.readString("input gateway")
            let frame = try reader.readBlob("input frame")
            let count = Int(try reader.readUInt32("entropy count"))
            guard count <= reader.remaining / 8 else { throw .truncated(field: "entropy") }
            var entropy: [UInt64] = []
            entropy.reserveCapacity(count)
            for _ in 0..<count { entropy.append(try reader.readUInt64("entropy")) }
            return .command(gateway: gateway, frame: frame, now: now, entropy: entropy)
        case 2:
            return .tick(now: now)
        case 3:
            return .gatewayClosed(gateway: try reader.readString("input gateway"), now: now)
        default:
            throw .unknownKind(kind)
        }
    }
}
