/// The `Encoder` handed to one value's `encode(to:)`: it opens the value's container at its nesting
/// level in the shared ``SnapshotWriter`` and is the value's node in the coding path.
final class SnapshotValueEncoder: Encoder, SnapshotPathNode {
    /// What the value asked for.
    private enum Kind {
        case nothing
        /// A keyed or unkeyed container, and its id (nil: it could not be opened).
        case container(SnapshotTag, id: Int?)
        case single
    }

    let writer: SnapshotWriter
    /// The index its container gets among the open ones.
    let level: Int
    let parentNode: (any SnapshotPathNode)?
    let component: SnapshotPathComponent?
    private var kind = Kind.nothing
    private var wroteSingleValue = false

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(writer: SnapshotWriter, level: Int, parent: (any SnapshotPathNode)?, component: SnapshotPathComponent?) {
        self.writer = writer
        self.level = level
        self.parentNode = parent
        self.component = component
    }

    /// Writes `value` as the value at `level`: a primitive at once, a dictionary or set in canonical
    /// order, anything else through its `encode(to:)`; one that writes nothing becomes an empty
    /// keyed container.
    static func write<T: Encodable>(
        _ value: T,
        to writer: SnapshotWriter,
        level: Int,
        parent: (any SnapshotPathNode)?,
        component: SnapshotPathComponent?
    ) throws {
        if let primitive = value as? any SnapshotPrimitive {
            try writer.prepareValue(level: level, node: parent)
            primitive.write(to: writer)
            return
        }
        let encoder = SnapshotValueEncoder(writer: writer, level: level, parent: parent, component: component)
        try writer.prepareValue(level: level, node: encoder)
        let start = writer.count
        if let collection = value as? any SnapshotUnorderedCollection {
            try collection.encodeCanonically(to: encoder)
        } else {
            try value.encode(to: encoder)
        }
        try writer.close(deeperThan: level - 1, node: encoder)
        if writer.count == start { writer.appendEmptyContainer() }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(SnapshotKeyedEncodingContainer<Key>(encoder: self, id: containerID(.keyed)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        SnapshotUnkeyedEncodingContainer(encoder: self, id: containerID(.unkeyed))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        switch kind {
        case .nothing, .single:
            kind = .single
        case .container:
            writer.fail(.containerMisuse("asked for a single value container after a container", path: path()))
        }
        return SnapshotSingleValueEncodingContainer(encoder: self)
    }

    /// Opens the value's container of kind `tag` (or returns the one opened before): its id, or nil
    /// (and the error recorded) when the value asked for another kind before.
    private func containerID(_ tag: SnapshotTag) -> Int? {
        switch kind {
        case .nothing:
            let id = writer.openContainer(tag, level: level, node: self)
            kind = .container(tag, id: id)
            return id
        case .container(let opened, let id) where opened == tag:
            return id
        case .container, .single:
            writer.fail(.containerMisuse("asked for \(tag.name) after another kind of container", path: path()))
            return nil
        }
    }

    /// Claims the one value of its single value container.
    func claimSingleValue() throws(SnapshotCodingError) {
        guard !wroteSingleValue else {
            throw .containerMisuse("wrote two values into a single value container", path: path())
        }
        wroteSingleValue = true
    }

    /// A child node at the next level (nested containers, super encoders).
    func child(_ component: SnapshotPathComponent, levels: Int = 1) -> SnapshotValueEncoder {
        SnapshotValueEncoder(writer: writer, level: level + levels, parent: self, component: component)
    }
}
