/// Where an unkeyed container is in its values (a reference, so that the shared non-mutating primitive
/// `decode`s can move it).
final class SnapshotUnkeyedCursor {
    var position: Int
    var index = 0

    init(position: Int) {
        self.position = position
    }
}

/// An unkeyed container being read: its values in order, each one's end found in O(1) before it is read.
struct SnapshotUnkeyedDecodingContainer: UnkeyedDecodingContainer, SnapshotPrimitiveDecoding {
    /// Where a value lies, and its index.
    typealias Place = (start: Int, end: Int, component: SnapshotPathComponent)

    let decoder: SnapshotValueDecoder
    /// Where its values end.
    let end: Int
    private let cursor: SnapshotUnkeyedCursor

    init(decoder: SnapshotValueDecoder, content: Range<Int>) {
        self.decoder = decoder
        self.end = content.upperBound
        self.cursor = SnapshotUnkeyedCursor(position: content.lowerBound)
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    /// Not known without a scan; `isAtEnd` says when the values end.
    var count: Int? { nil }
    var isAtEnd: Bool { cursor.position >= end }
    var currentIndex: Int { cursor.index }

    /// The next value's place.
    private func peek() throws -> Place {
        let component = SnapshotPathComponent.index(cursor.index)
        guard !isAtEnd else { throw SnapshotCodingError.noMoreValues(count: cursor.index, path: decoder.path()) }
        let start = cursor.position
        return (start, try decoder.reader.end(ofValueAt: start, limit: end) { decoder.path(component) }, component)
    }

    /// Moves past a value read (not past one that failed to decode: it may be read as another type).
    private func move(to position: Int) {
        cursor.position = position
        cursor.index += 1
    }

    func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw SnapshotCodingError.noMoreValues(count: cursor.index, path: decoder.path()) }
        guard try decoder.reader.isNil(at: cursor.position, limit: end, path: decoder.describe) else { return false }
        move(to: cursor.position + 1)
        return true
    }

    func decodePrimitive<T: SnapshotPrimitive>(_ type: T.Type) throws -> T {
        let value = try peek()
        let result = try T.read(from: decoder.reader, at: value.start, limit: value.end) {
            decoder.path(value.component)
        }
        move(to: value.end)
        return result
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value = try peek()
        let result = try decoder.decodeChild(T.self, at: value.start, end: value.end, component: value.component)
        move(to: value.end)
        return result
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let value = try peek()
        let container = try childDecoder(value).container(keyedBy: type)
        move(to: value.end)
        return container
    }

    func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let value = try peek()
        let container = try childDecoder(value).unkeyedContainer()
        move(to: value.end)
        return container
    }

    func superDecoder() throws -> any Decoder {
        let value = try peek()
        move(to: value.end)
        return childDecoder(value)
    }

    private func childDecoder(_ value: Place) -> SnapshotValueDecoder {
        decoder.child(at: value.start, end: value.end, component: value.component)
    }
}
