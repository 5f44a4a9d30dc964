/// The one value of an `encode(to:)` that asked for a single value container: written in place, at the
/// level and path of its encoder.
struct SnapshotSingleValueEncodingContainer: SingleValueEncodingContainer, SnapshotPrimitiveEncoding {
    let encoder: SnapshotValueEncoder

    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodePrimitive(_ value: some SnapshotPrimitive) throws {
        try encoder.claimSingleValue()
        try encoder.writer.prepareValue(level: encoder.level, node: encoder)
        value.write(to: encoder.writer)
    }

    mutating func encodeNil() throws {
        try encoder.claimSingleValue()
        try encoder.writer.prepareValue(level: encoder.level, node: encoder)
        encoder.writer.append(.null)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.claimSingleValue()
        try SnapshotValueEncoder.write(
            value,
            to: encoder.writer,
            level: encoder.level,
            parent: encoder.parentNode,
            component: encoder.component
        )
    }
}
