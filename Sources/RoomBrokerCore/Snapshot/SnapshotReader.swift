/// Bounds-checked reads from a snapshot's body, shared by the ``SnapshotValueDecoder``s and containers
/// of one ``SnapshotDecoder/decode(_:from:)`` (one thread, inside the bytes' `withUnsafeBytes`).
///
/// Every read is given the end of the value's container (`limit`) and checks each length against what
/// is left before it, so no value reaches outside its container, whatever the bytes say; nothing is
/// allocated beyond the bytes there are.
final class SnapshotReader {
    /// The body: root value and key table.
    let body: UnsafeBufferPointer<UInt8>
    /// The key table.
    private(set) var keys: [String] = []
    /// Most containers nested in one another.
    let maxDepth: Int

    init(body: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.body = body
        self.maxDepth = maxDepth
    }

    // MARK: Structure

    /// The tag of the value at `offset`.
    func tag(at offset: Int, limit: Int, path: () -> String) throws(SnapshotCodingError) -> SnapshotTag {
        guard offset < limit else { throw .truncated(offset: offset, needed: 1, available: 0, path: path()) }
        guard let tag = SnapshotTag(rawValue: body[offset]) else {
            throw .unknownTag(body[offset], offset: offset, path: path())
        }
        return tag
    }

    /// Reads a varint at `offset`, moving `offset` past it.
    func varint(at offset: inout Int, limit: Int, path: () -> String) throws(SnapshotCodingError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < limit else { throw .truncated(offset: start, needed: 1, available: 0, path: path()) }
            let byte = body[offset]
            offset += 1
            guard shift < 63 || byte <= 1 else { throw .malformedVarint(offset: start, path: path()) }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// `position + length`, when that is not past `limit`.
    private func advance(
        _ position: Int,
        by length: UInt64,
        limit: Int,
        from offset: Int,
        path: () -> String
    ) throws(SnapshotCodingError) -> Int {
        guard position <= limit, length <= UInt64(limit - position) else {
            throw .truncated(offset: offset, needed: length, available: max(0, limit - position), path: path())
        }
        return position + Int(length)
    }

    /// Where the value at `offset` ends: O(1), every kind of value says its length.
    func end(ofValueAt offset: Int, limit: Int, path: () -> String) throws(SnapshotCodingError) -> Int {
        var position = offset + 1
        switch try tag(at: offset, limit: limit, path: path) {
        case .null, .false, .true:
            return position
        case .unsigned, .signed:
            _ = try varint(at: &position, limit: limit, path: path)
            return position
        case .float32:
            return try advance(position, by: 4, limit: limit, from: offset, path: path)
        case .float64:
            return try advance(position, by: 8, limit: limit, from: offset, path: path)
        case .string, .bytes:
            let length = try varint(at: &position, limit: limit, path: path)
            return try advance(position, by: length, limit: limit, from: offset, path: path)
        case .keyed, .unkeyed:
            let length = try containerLength(at: position, limit: limit, from: offset, path: path)
            let start = position + SnapshotFormat.containerLengthSize
            return try advance(start, by: length, limit: limit, from: offset, path: path)
        }
    }

    private func containerLength(
        at position: Int,
        limit: Int,
        from offset: Int,
        path: () -> String
    ) throws(SnapshotCodingError) -> UInt64 {
        let size = SnapshotFormat.containerLengthSize
        _ = try advance(position, by: UInt64(size), limit: limit, from: offset, path: path)
        let raw = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: body[position..<position + size]))
        return UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
    }

    /// The content (entries or values) of the container of kind `tag` at `offset`.
    func content(
        of tag: SnapshotTag,
        at offset: Int,
        limit: Int,
        path: () -> String
    ) throws(SnapshotCodingError) -> Range<Int> {
        try expect(tag, at: offset, limit: limit, path: path)
        let start = offset + 1 + SnapshotFormat.containerLengthSize
        let end = try self.end(ofValueAt: offset, limit: limit, path: path)
        return start..<end
    }

    /// Fails unless the value at `offset` is of kind `tag`.
    private func expect(
        _ tag: SnapshotTag,
        at offset: Int,
        limit: Int,
        path: () -> String
    ) throws(SnapshotCodingError) {
        let found = try self.tag(at: offset, limit: limit, path: path)
        guard found == tag else {
            throw .typeMismatch(expected: tag.name, found: found.name, offset: offset, path: path())
        }
    }

    // MARK: Primitive values

    func isNil(at offset: Int, limit: Int, path: () -> String) throws(SnapshotCodingError) -> Bool {
        try tag(at: offset, limit: limit, path: path) == .null
    }

    func readBool(at offset: Int, limit: Int, path: () -> String) throws(SnapshotCodingError) -> Bool {
        switch try tag(at: offset, limit: limit, path: path) {
        case .true: return true
        case .false: return false
        case let other: throw .typeMismatch(expected: "a Bool", found: other.name, offset: offset, path: path())
        }
    }

    /// An integer written as either signed or unsigned, if it fits `T`.
    func readInteger<T: FixedWidthInteger>(
        _ type: T.Type,
        at offset: Int,
        limit: Int,
        path: () -> String
    ) throws(SnapshotCodingError) -> T {
        var position = offset + 1
        let found = try tag(at: offset, limit: limit, path: path)
        switch found {
        case .unsigned:
            let value = try varint(at: &position, limit: limit, path: path)
            guard let fitting = T(exactly: value) else {
                throw .valueOutOfRange(type: "\(T.self)", value: "\(value)", path: path())
            }
            return fitting
        case .signed:
            let raw = try varint(at: &position, limit: limit, path: path)
            let value = Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
            guard let fitting = T(exactly: value) else {
                throw .valueOutOfRange(type: "\(T.self)", value: "\(value)", path: path())
            }
            return fitting
        default:
            throw .typeMismatch(expected: "an integer", found: found.name, offset: offset, path: path())
        }
    }

    func readDouble(at offset: Int, limit: Int, path: () -> String) throws(SnapshotCodingError) -> Double {
        let found = try tag(at: offset, limit: limit, path: path)
        let size = found == .float32 ? 4 : 8
        guard found == .float32 || found == .float64 else {
            throw .typeMismatch(expected: "a floating-point number", found: found.name, offset: offset, path: path())
        }
        _ = try advance(offset + 1, by: UInt64(size), limit: limit, from: offset, path: path)
        let raw = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: body[offset + 1..<offset + 1 + size]))
        if found == .float32 {
            return Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self))))
        }
        return Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)))
    }

    /// The bytes of a string or byte array (`tag`) at `offset`.
    private func data(
        _ tag: SnapshotTag,
        at offset: Int,
        limit: Int,
        path: () -> String
    ) throws(SnapshotCodingError) -> UnsafeBufferPointer<UInt8> {
        try expect(tag, at: offset, limit: limit, path: path)
        var position = offset + 1
        let length = try varint(at: &position, limit: limit, path: path)
        let end = try advance(position, by: length, limit: limit, from: offset, path: path)
        return UnsafeBufferPointer(rebasing: body[position..<end])
    }

    func readString(at offset: Int, limit: Int, path: () -> String) throws(SnapshotCodingError) -> String {
        let utf8 = try data(.string, at: offset, limit: limit, path: path)
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw .invalidUTF8(offset: offset, path: path())
        }
        return string
    }

    /// A byte array, copied in one piece.
    func readBytes(at offset: Int, limit: Int, path: () -> String) throws(SnapshotCodingError) -> [UInt8] {
        Array(try data(.bytes, at: offset, limit: limit, path: path))
    }

    // MARK: Key table

    /// Reads the key table, which must fill `range` exactly.
    func readKeyTable(_ range: Range<Int>) throws(SnapshotCodingError) {
        let path = { "the key table" }
        var position = range.lowerBound
        let count = try varint(at: &position, limit: range.upperBound, path: path)
        // Each key takes at least its length byte: refuse counts the bytes cannot hold.
        guard count <= UInt64(range.upperBound - position) else {
            let available = range.upperBound - position
            throw .truncated(offset: range.lowerBound, needed: count, available: available, path: path())
        }
        var keys: [String] = []
        keys.reserveCapacity(Int(count))
        for _ in 0..<count {
            let start = position
            let length = try varint(at: &position, limit: range.upperBound, path: path)
            let end = try advance(position, by: length, limit: range.upperBound, from: start, path: path)
            let utf8 = UnsafeBufferPointer(rebasing: body[position..<end])
            guard let key = String(validating: utf8, as: UTF8.self) else {
                throw .invalidUTF8(offset: start, path: path())
            }
            keys.append(key)
            position = end
        }
        guard position == range.upperBound else {
            throw .trailingBytes(count: range.upperBound - position, offset: position)
        }
        self.keys = keys
    }
}
