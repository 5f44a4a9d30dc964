import ChatWire
import Glibc
import RoomBrokerCore

/// A snapshot on disk: a ``FileHeader`` (lineage, base, the payload's length and CRC32C) and the
/// ``BrokerSnapshot`` in its binary format. Written whole or not at all (a temporary file renamed).
enum SnapshotFile {
    /// Encodes `snapshot` and writes it as `file`; returns its size.
    static func write(
        _ snapshot: BrokerSnapshot,
        as file: DataFile,
        in directory: DataDirectory
    ) throws -> Int {
        let payload = try snapshot.encoded()
        var header = FileHeader(kind: .snapshot, generation: file.generation, position: file.position)
        header.length = UInt64(payload.count)
        header.checksum = CRC32C.checksum(payload)
        var bytes = header.encoded
        bytes.reserveCapacity(bytes.count + payload.count)
        bytes += payload
        try directory.writeAtomically(name: file.name, bytes: bytes)
        return bytes.count
    }

    /// Reads and decodes `file`; throws a ``SnapshotFileError`` when it is damaged.
    static func read(_ file: DataFile, in directory: DataDirectory) throws -> BrokerSnapshot {
        let posix = try POSIXFile(path: directory.path(of: file), flags: O_RDONLY)
        defer { posix.close() }
        let bytes = try posix.readAll(limit: Int.max)
        guard let header = FileHeader.read(.snapshot, from: bytes), header.generation == file.generation,
            header.position == file.position
        else { throw SnapshotFileError.badHeader }
        guard UInt64(bytes.count - FileHeader.size) == header.length else {
            throw SnapshotFileError.wrongLength(expected: header.length, found: bytes.count - FileHeader.size)
        }
        let payload = Array(bytes[FileHeader.size...])
        guard CRC32C.checksum(payload) == header.checksum else { throw SnapshotFileError.checksum }
        return try BrokerSnapshot.decode(payload)
    }
}

/// Why a snapshot file cannot be read.
enum SnapshotFileError: Error, CustomStringConvertible {
    case badHeader
    case wrongLength(expected: UInt64, found: Int)
    case checksum

    var description: String {
        switch self {
        case .badHeader: return "its header is not a snapshot header of this lineage and base"
        case .wrongLength(let expected, let found):
            return "it holds \(found) bytes of state, its header says \(expected)"
        case .checksum: return "its checksum differs"
        }
    }
}
