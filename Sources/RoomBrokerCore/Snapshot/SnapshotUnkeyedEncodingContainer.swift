/// An unkeyed container being written: its values one after another.
struct SnapshotUnkeyedEncodingContainer: UnkeyedEncodingContainer, SnapshotPrimitiveEncoding {
    /// The value whose container this is (its level and path).
    let encoder: SnapshotValueEncoder
    /// The container's id among the writer's open ones (nil: it could not be opened).
    let id: Int?
    private(set) var count = 0

    init(encoder: SnapshotValueEncoder, id: Int?) {
        self.encoder = encoder
        self.id = id
    }

    var codingPath: [any CodingKey] { encoder.codingPath }

    private var writer: SnapshotWriter { encoder.writer }

    /// Makes this container the innermost open one before its next value.
    private mutating func begin() throws(SnapshotCodingError) {
        try writer.prepare(container: id, level: encoder.level, node: encoder)
        count += 1
    }

    mutating func encodePrimitive(_ value: some SnapshotPrimitive) throws {
        try begin()
        value.write(to: writer)
    }

    mutating func encodeNil() throws {
        try begin()
        writer.append(.null)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let index = count
        try begin()
        try SnapshotValueEncoder.write(
            value,
            to: writer,
            level: encoder.level + 1,
            parent: encoder,
            component: .index(index)
        )
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = encoder.child(.index(count))
        let id = beginNested(node: child) ? writer.openContainer(.keyed, level: child.level, node: child) : nil
        return KeyedEncodingContainer(SnapshotKeyedEncodingContainer<NestedKey>(encoder: child, id: id))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = encoder.child(.index(count))
        let id = beginNested(node: child) ? writer.openContainer(.unkeyed, level: child.level, node: child) : nil
        return SnapshotUnkeyedEncodingContainer(encoder: child, id: id)
    }

    mutating func superEncoder() -> any Encoder {
        let slot = encoder.child(.index(count))
        let valueEncoder = encoder.child(.index(count), levels: 2)
        if beginNested(node: slot) { _ = writer.openSlot(level: slot.level, node: slot) }
        return valueEncoder
    }

    /// Counts a nested value (the protocol cannot throw here: errors are thrown later).
    private mutating func beginNested(node: SnapshotValueEncoder) -> Bool {
        do {
            try begin()
            return true
        } catch {
            writer.fail(error)
            return false
        }
    }
}
