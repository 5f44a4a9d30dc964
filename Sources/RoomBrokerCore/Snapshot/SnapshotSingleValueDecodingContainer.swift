/// The one value of an `init(from:)` that asked for a single value container: read in place, at the
/// level and path of its decoder.
struct SnapshotSingleValueDecodingContainer: SingleValueDecodingContainer, SnapshotPrimitiveDecoding {
    let decoder: SnapshotValueDecoder

    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool {
        (try? decoder.reader.isNil(at: decoder.offset, limit: decoder.end, path: decoder.describe)) ?? false
    }

    func decodePrimitive<T: SnapshotPrimitive>(_ type: T.Type) throws -> T {
        try T.read(from: decoder.reader, at: decoder.offset, limit: decoder.end, path: decoder.describe)
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try SnapshotValueDecoder.decode(
            T.self,
            reader: decoder.reader,
            at: decoder.offset,
            end: decoder.end,
            level: decoder.level,
            parent: decoder.parentNode,
            component: decoder.component
        )
    }
}
