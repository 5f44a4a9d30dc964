/// A keyed container being read: values found by key through ``SnapshotKeyedEntries``; keys the
/// decoder does not ask for (fields removed since) are skipped, keys it asks for that are missing
/// (fields added since) are absent for `decodeIfPresent`.
struct SnapshotKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: SnapshotValueDecoder
    let entries: SnapshotKeyedEntries

    var codingPath: [any CodingKey] { decoder.codingPath }

    var allKeys: [Key] { entries.keyStrings.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool {
        entries.find(key.stringValue) != nil
    }

    /// The entry for `key`, or an error naming it.
    private func entry(_ key: Key) throws(SnapshotCodingError) -> SnapshotKeyedEntries.Entry {
        guard let entry = entries.find(key.stringValue) else {
            throw .keyNotFound(key.stringValue, path: decoder.path())
        }
        return entry
    }

    private func decodePrimitive<T: SnapshotPrimitive>(_ type: T.Type, forKey key: Key) throws -> T {
        let entry = try entry(key)
        return try T.read(from: decoder.reader, at: entry.start, limit: entry.end) {
            decoder.path(.key(key.stringValue))
        }
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        let entry = try entry(key)
        return try decoder.reader.isNil(at: entry.start, limit: entry.end) { decoder.path(.key(key.stringValue)) }
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decodePrimitive(type, forKey: key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decodePrimitive(type, forKey: key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decodePrimitive(type, forKey: key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decodePrimitive(type, forKey: key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decodePrimitive(type, forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decodePrimitive(type, forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decodePrimitive(type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decodePrimitive(type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decodePrimitive(type, forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decodePrimitive(type, forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decodePrimitive(type, forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decodePrimitive(type, forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decodePrimitive(type, forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decodePrimitive(type, forKey: key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let entry = try entry(key)
        return try decoder.decodeChild(T.self, at: entry.start, end: entry.end, component: .key(key.stringValue))
    }

    /// One lookup for an optional field: nil when the key is missing or holds nil.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let entry = entries.find(key.stringValue) else { return nil }
        let isNil = try decoder.reader.isNil(at: entry.start, limit: entry.end) { decoder.path(.key(key.stringValue)) }
        guard !isNil else { return nil }
        return try decoder.decodeChild(T.self, at: entry.start, end: entry.end, component: .key(key.stringValue))
    }

    /// A decoder for the value under `key`.
    private func childDecoder(_ key: Key) throws -> SnapshotValueDecoder {
        let entry = try entry(key)
        return decoder.child(at: entry.start, end: entry.end, component: .key(key.stringValue))
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try childDecoder(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try childDecoder(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        guard let entry = entries.find(SnapshotKey.super.stringValue) else {
            throw SnapshotCodingError.keyNotFound(SnapshotKey.super.stringValue, path: decoder.path())
        }
        return decoder.child(at: entry.start, end: entry.end, component: .key(SnapshotKey.super.stringValue))
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try childDecoder(key)
    }
}
