/// A keyed container being written: each value preceded by its key's index in the key table.
struct SnapshotKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    /// The value whose container this is (its level and path).
    let encoder: SnapshotValueEncoder
    /// The container's id among the writer's open ones (nil: it could not be opened).
    let id: Int?

    var codingPath: [any CodingKey] { encoder.codingPath }

    private var writer: SnapshotWriter { encoder.writer }

    /// Makes this container the innermost open one and writes `key`.
    private func begin(_ key: Key) throws(SnapshotCodingError) {
        try writer.prepare(container: id, level: encoder.level, node: encoder)
        writer.appendKey(key.stringValue)
    }

    private func encodePrimitive(_ value: some SnapshotPrimitive, forKey key: Key) throws {
        try begin(key)
        value.write(to: writer)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try begin(key)
        writer.append(.null)
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encodePrimitive(value, forKey: key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try begin(key)
        try SnapshotValueEncoder.write(
            value,
            to: writer,
            level: encoder.level + 1,
            parent: encoder,
            component: .key(key.stringValue)
        )
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = encoder.child(.key(key.stringValue))
        let id = beginNested(key, node: child) ? writer.openContainer(.keyed, level: child.level, node: child) : nil
        return KeyedEncodingContainer(SnapshotKeyedEncodingContainer<NestedKey>(encoder: child, id: id))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = encoder.child(.key(key.stringValue))
        let id = beginNested(key, node: child) ? writer.openContainer(.unkeyed, level: child.level, node: child) : nil
        return SnapshotUnkeyedEncodingContainer(encoder: child, id: id)
    }

    mutating func superEncoder() -> any Encoder {
        superEncoder(key: SnapshotKey.super.stringValue)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        superEncoder(key: key.stringValue)
    }

    /// An encoder for the value under `key`, kept in a slot (one level) so that it may be written later
    /// or not at all.
    private func superEncoder(key: String) -> any Encoder {
        let slot = encoder.child(.key(key))
        let valueEncoder = encoder.child(.key(key), levels: 2)
        do {
            try writer.prepare(container: id, level: encoder.level, node: encoder)
            writer.appendKey(key)
            _ = writer.openSlot(level: slot.level, node: slot)
        } catch {
            writer.fail(error)
        }
        return valueEncoder
    }

    /// Writes `key` for a nested container (the protocol cannot throw here: errors are thrown later).
    private func beginNested(_ key: Key, node: SnapshotValueEncoder) -> Bool {
        do {
            try begin(key)
            return true
        } catch {
            writer.fail(error)
        }
        return false
    }
}
