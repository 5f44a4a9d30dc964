import ChatWire

/// The fixed header of a journal segment or a snapshot file: a magic word, the format version, the
/// lineage and position, and a CRC32C of the header itself.
struct FileHeader: Equatable {
    /// Which kind of file.
    enum Kind {
        case segment
        case snapshot

        var magic: [UInt8] {
            switch self {
            case .segment: return Array("CHATJRNL".utf8)
            case .snapshot: return Array("CHATSNAP".utf8)
            }
        }
    }

    static let version: UInt32 = 1
    /// Bytes of a header.
    static let size = 8 + 4 + 1 + 8 + 8 + 8 + 4 + 4

    var kind: Kind
    var generation: UInt64
    /// A segment's first update, a snapshot's base.
    var position: UInt64
    /// A segment: the fsync mode it was written with (``FsyncMode``'s byte); a snapshot: 0.
    var mode: UInt8 = 0
    /// A snapshot: the payload's length and CRC32C; a segment: 0.
    var length: UInt64 = 0
    var checksum: UInt32 = 0

    /// The header's bytes.
    var encoded: [UInt8] {
        var writer = WireWriter(capacity: Self.size)
        for byte in kind.magic { writer.write(byte) }
        writer.write(Self.version)
        writer.write(mode)
        writer.write(generation)
        writer.write(position)
        writer.write(length)
        writer.write(checksum)
        let bytes = writer.bytes
        writer.write(CRC32C.checksum(bytes))
        return writer.bytes
    }

    /// Reads a header of `kind` from the start of `bytes`; nil when it is not one (or is damaged).
    static func read(_ kind: Kind, from bytes: [UInt8]) -> FileHeader? {
        guard bytes.count >= size, Array(bytes[0..<8]) == kind.magic else { return nil }
        let head = Array(bytes[0..<size])
        guard var reader = try? WireReader(head, limit: size) else { return nil }
        do throws(WireError) {
            for _ in 0..<8 { _ = try reader.readByte("magic") }
            guard try reader.readUInt32("version") == version else { return nil }
            let mode = try reader.readByte("mode")
            let generation = try reader.readUInt64("generation")
            let position = try reader.readUInt64("position")
            let length = try reader.readUInt64("length")
            let checksum = try reader.readUInt32("checksum")
            guard try reader.readUInt32("header checksum") == CRC32C.checksum(head[0..<(size - 4)]) else { return nil }
            return FileHeader(
                kind: kind,
                generation: generation,
                position: position,
                mode: mode,
                length: length,
                checksum: checksum
            )
        } catch {
            return nil
        }
    }
}
