import ChatWire
import RoomBrokerCore

/// How a ``JournalEntry`` is kept in a segment: a record of `length` (4 bytes, big-endian), the
/// CRC32C of its payload (4 bytes), then the payload: a kind byte and the entry's fields
/// (docs/ARCHITECTURE.md, "Journal"). A record that is short or whose checksum differs ends what can
/// be read of its segment.
enum JournalRecord {
    /// Bytes before a record's payload.
    static let headerSize = 8
    /// The largest payload: one peer message of updates and its fields.
    static let maxPayload = PeerMessage.maxSize + 64

    /// Appends `entry` as a record to `buffer` (never a lineage: that is a snapshot file).
    static func append(_ entry: JournalEntry, to buffer: inout [UInt8]) {
        var payload = WireWriter(capacity: 16)
        switch entry {
        case .updates(let last, let frame):
            payload.write(UInt8(1))
            payload.write(last)
            payload.write(blob: frame)
        case .term(let term):
            payload.write(UInt8(2))
            payload.write(term)
        case .instance(let instance):
            payload.write(UInt8(3))
            payload.write(instance)
        case .lineage:
            return
        }
        let bytes = payload.bytes
        var header = WireWriter(capacity: headerSize)
        header.write(UInt32(bytes.count))
        header.write(CRC32C.checksum(bytes))
        buffer += header.bytes
        buffer += bytes
    }

    /// What reading a record at an offset found.
    enum Read {
        /// A whole record: its entry and its size in bytes.
        case record(JournalEntry, size: Int)
        /// The segment ends here.
        case end
        /// The bytes here are not a record (torn or damaged).
        case damaged(String)
    }

    /// Reads the record at `offset` of `bytes`.
    static func read(_ bytes: [UInt8], at offset: Int) -> Read {
        let remaining = bytes.count - offset
        if remaining == 0 { return .end }
        guard remaining >= headerSize, let (length, checksum) = header(bytes, at: offset) else {
            return .damaged("a record header cut short (\(remaining) bytes)")
        }
        guard length >= 1, length <= maxPayload else { return .damaged("a record length of \(length) bytes") }
        guard remaining - headerSize >= length else {
            return .damaged("a record of \(length) bytes cut short at \(remaining - headerSize)")
        }
        let payload = Array(bytes[(offset + headerSize)..<(offset + headerSize + length)])
        guard CRC32C.checksum(payload) == checksum else { return .damaged("a record whose checksum differs") }
        guard let entry = try? entry(from: payload) else { return .damaged("a record that does not decode") }
        return .record(entry, size: headerSize + length)
    }

    /// The payload length and checksum of the record header at `offset` (the caller checked that its
    /// ``headerSize`` bytes are there).
    static func header(_ bytes: [UInt8], at offset: Int) -> (length: Int, checksum: UInt32)? {
        guard var reader = try? WireReader(Array(bytes[offset..<(offset + headerSize)]), limit: headerSize),
            let length = try? reader.readUInt32("length"), let checksum = try? reader.readUInt32("checksum")
        else { return nil }
        return (Int(length), checksum)
    }

    private static func entry(from payload: [UInt8]) throws(WireError) -> JournalEntry {
        var reader = try WireReader(payload, limit: maxPayload)
        let entry: JournalEntry
        switch try reader.readByte("kind") {
        case 1:
            let last = try reader.readUInt64("last")
            entry = .updates(last: last, frame: try reader.readBlob("updates"))
        case 2:
            entry = .term(try reader.readUInt64("term"))
        case 3:
            entry = .instance(try reader.readString("instance"))
        case let kind:
            throw .unknownKind(kind)
        }
        try reader.finish()
        return entry
    }
}
