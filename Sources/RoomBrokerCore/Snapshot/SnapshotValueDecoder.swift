/// The `Decoder` handed to one value's `init(from:)`: the value's place in the body (its tag at
/// `offset`, its end at `end`), its nesting level and its node in the coding path.
final class SnapshotValueDecoder: Decoder, SnapshotPathNode {
    let reader: SnapshotReader
    /// Where the value's tag is.
    let offset: Int
    /// Where the value ends (checked when it was reached).
    let end: Int
    /// The index its container has among the nested ones (the root's is 0).
    let level: Int
    let parentNode: (any SnapshotPathNode)?
    let component: SnapshotPathComponent?

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(
        reader: SnapshotReader,
        offset: Int,
        end: Int,
        level: Int,
        parent: (any SnapshotPathNode)?,
        component: SnapshotPathComponent?
    ) {
        self.reader = reader
        self.offset = offset
        self.end = end
        self.level = level
        self.parentNode = parent
        self.component = component
    }

    /// Decodes the value at `offset..<end` as a `T`: a primitive at once, anything else through its
    /// `init(from:)` with a decoder of its own at `level`.
    static func decode<T: Decodable>(
        _ type: T.Type,
        reader: SnapshotReader,
        at offset: Int,
        end: Int,
        level: Int,
        parent: (any SnapshotPathNode)?,
        component: SnapshotPathComponent?
    ) throws -> T {
        if let primitive = T.self as? any SnapshotPrimitive.Type {
            let path = { parent?.path(component) ?? "the root" }
            guard let value = try primitive.read(from: reader, at: offset, limit: end, path: path) as? T else {
                throw SnapshotCodingError.typeMismatch(
                    expected: "\(T.self)",
                    found: "another primitive",
                    offset: offset,
                    path: path()
                )
            }
            return value
        }
        return try T(
            from: SnapshotValueDecoder(
                reader: reader,
                offset: offset,
                end: end,
                level: level,
                parent: parent,
                component: component
            )
        )
    }

    /// Decodes the value at `offset..<end` of this value's container as a `T`.
    func decodeChild<T: Decodable>(
        _ type: T.Type,
        at offset: Int,
        end: Int,
        component: SnapshotPathComponent
    ) throws -> T {
        try Self.decode(
            T.self,
            reader: reader,
            at: offset,
            end: end,
            level: level + 1,
            parent: self,
            component: component
        )
    }

    /// A decoder for the value at `offset..<end` of this value's container.
    func child(at offset: Int, end: Int, component: SnapshotPathComponent) -> SnapshotValueDecoder {
        SnapshotValueDecoder(
            reader: reader,
            offset: offset,
            end: end,
            level: level + 1,
            parent: self,
            component: component
        )
    }

    /// This value's path (for errors).
    func describe() -> String { path() }

    /// The content of this value's container of kind `tag`, at most ``SnapshotReader/maxDepth`` deep.
    func content(_ tag: SnapshotTag) throws(SnapshotCodingError) -> Range<Int> {
        guard level < reader.maxDepth else { throw .nestingTooDeep(limit: reader.maxDepth, path: path()) }
        return try reader.content(of: tag, at: offset, limit: end, path: describe)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let entries = try SnapshotKeyedEntries(reader: reader, content: try content(.keyed), path: describe)
        return KeyedDecodingContainer(SnapshotKeyedDecodingContainer<Key>(decoder: self, entries: entries))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        SnapshotUnkeyedDecodingContainer(decoder: self, content: try content(.unkeyed))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SnapshotSingleValueDecodingContainer(decoder: self)
    }
}
