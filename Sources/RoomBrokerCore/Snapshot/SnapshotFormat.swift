/// The binary format of ``SnapshotEncoder`` and ``SnapshotDecoder``, version 1. Integers of fixed width
/// are little-endian; a varint is unsigned LEB128 (7 bits a byte, low bits first, at most 10 bytes).
///
/// ```
/// header   "CHSN" · version UInt16 · flags UInt16 (0) · body length UInt64         16 bytes
/// body     root value · key table
/// trailer  CRC-32C of the body, UInt32                                              4 bytes
/// ```
///
/// A value is a tag byte (``SnapshotTag``) and its content: nothing for nil, false and true; a varint
/// for unsigned integers and a zigzag varint for signed ones; 4 or 8 bytes for floats; a varint length
/// and the UTF-8 or raw bytes for a string or a byte array (`[UInt8]`, copied whole); and for a
/// container a UInt32 length of its content, then its values, each preceded in a keyed container by
/// its key as a varint index into the key table. The length makes every value skippable in O(1), so a
/// keyed container is indexed when opened and fields can be read in any order, or not at all (a field
/// added later and read with `decodeIfPresent` keeps older snapshots readable).
///
/// The key table (a varint count, then each key as a varint length and UTF-8) lists every key once,
/// in order of first use: a struct's field names cost a byte or two per element, not their length.
/// Dictionaries and sets are written in a canonical order (string keys sorted), so one state always
/// encodes to the same bytes.
enum SnapshotFormat {
    /// The first four bytes.
    static let magic: [UInt8] = Array("CHSN".utf8)
    /// The version this build writes and reads.
    static let version: UInt16 = 1
    /// Bytes before the body: magic, version, flags, body length.
    static let headerSize = 16
    /// Bytes after the body: its CRC-32C.
    static let trailerSize = 4
    /// Bytes of a container's length field.
    static let containerLengthSize = 4
    /// Nested values allowed by default (the broker's state uses about ten).
    static let defaultMaxDepth = 64
}

/// The first byte of every value in a snapshot.
enum SnapshotTag: UInt8 {
    case null = 0
    case `false` = 1
    case `true` = 2
    /// An unsigned varint.
    case unsigned = 3
    /// A zigzag varint.
    case signed = 4
    case float32 = 5
    case float64 = 6
    /// A varint length and UTF-8.
    case string = 7
    /// A varint length and raw bytes.
    case bytes = 8
    /// A UInt32 length and (key index, value) entries.
    case keyed = 9
    /// A UInt32 length and values.
    case unkeyed = 10

    /// What the tag holds, for error messages.
    var name: String {
        switch self {
        case .null: return "nil"
        case .false, .true: return "a Bool"
        case .unsigned: return "an unsigned integer"
        case .signed: return "a signed integer"
        case .float32, .float64: return "a floating-point number"
        case .string: return "a string"
        case .bytes: return "a byte array"
        case .keyed: return "a keyed container"
        case .unkeyed: return "an unkeyed container"
        }
    }
}
