/// Encodes a `Codable` value in the compact, checksummed binary format of ``SnapshotDecoder``
/// (`SnapshotFormat`): the broker's state for its standby, and later for disk.
///
/// Byte arrays are copied whole, strings as their UTF-8, integers as varints, and field names once
/// into a key table. Dictionaries and sets are written in a canonical order, so the bytes depend only
/// on the value. One call runs on one thread; the encoder itself is a plain value.
public struct SnapshotEncoder: Sendable {
    /// The most containers nested in one another (deeper values fail to encode).
    public var maxDepth = SnapshotFormat.defaultMaxDepth
    /// Bytes to reserve up front (e.g. the size of the previous snapshot): saves regrowing the buffer.
    public var expectedSize = 0

    /// An encoder with the default limits.
    public init() {}

    /// The snapshot of `value`.
    public func encode(_ value: some Encodable) throws -> [UInt8] {
        let writer = SnapshotWriter(maxDepth: maxDepth)
        writer.appendHeader(reservingCapacity: expectedSize)
        try SnapshotValueEncoder.write(value, to: writer, level: 0, parent: nil, component: nil)
        return writer.finish()
    }

    /// `value` encoded alone (its body and key table), to order the elements of a set or the keys of
    /// a dictionary by (``SnapshotUnorderedCollection``).
    static func canonicalBytes(of value: some Encodable) throws -> [UInt8] {
        let writer = SnapshotWriter(maxDepth: SnapshotFormat.defaultMaxDepth)
        try SnapshotValueEncoder.write(value, to: writer, level: 0, parent: nil, component: nil)
        writer.appendKeyTable()
        return writer.bytes
    }
}
