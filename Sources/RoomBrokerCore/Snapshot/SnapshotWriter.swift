import ChatWire

/// The bytes of a snapshot being encoded, its key table and its open containers: the state that the
/// ``SnapshotValueEncoder``s and containers of one ``SnapshotEncoder/encode(_:)`` share (one thread).
///
/// Values are appended in one pass. A container's length is patched when it closes: when a container
/// further out writes its next value, or when the value that opened it is done. A container written to
/// after it closed (containers used out of nesting order) is an error, not a corrupt snapshot.
final class SnapshotWriter {
    /// One open container (or the slot of a `superEncoder`), outermost first.
    private struct Open {
        var id: Int
        /// Where its UInt32 length goes (for a slot: where its value starts).
        var start: Int
        var isSlot: Bool
    }

    private(set) var bytes: [UInt8] = []
    private var keyIndices: [String: Int] = [:]
    private var keys: [String] = []
    private var open: [Open] = []
    private var nextID = 0
    /// An error met where the Encoder protocol cannot throw, thrown at the next chance.
    private var pendingError: SnapshotCodingError?
    /// Most nested values.
    let maxDepth: Int

    init(maxDepth: Int) {
        self.maxDepth = maxDepth
    }

    // MARK: Primitive values

    func append(_ tag: SnapshotTag) {
        bytes.append(tag.rawValue)
    }

    /// A tag and a varint in one append.
    func append(_ tag: SnapshotTag, varint value: UInt64) {
        var scratch: (UInt64, UInt64) = (0, 0)
        let count = withUnsafeMutableBytes(of: &scratch) { buffer in
            buffer[0] = tag.rawValue
            return 1 + Self.storeVarint(value, into: buffer, at: 1)
        }
        withUnsafeBytes(of: &scratch) { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    func append(_ value: Bool) {
        append(value ? .true : .false)
    }

    func append(unsigned value: UInt64) {
        append(.unsigned, varint: value)
    }

    func append(signed value: Int64) {
        append(.signed, varint: UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    func append(_ value: Float) {
        append(.float32)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    func append(_ value: Double) {
        append(.float64)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    func append(_ value: String) {
        let done: Void? = value.utf8.withContiguousStorageIfAvailable {
            appendData(.string, UnsafeRawBufferPointer($0))
        }
        if done == nil { Array(value.utf8).withUnsafeBytes { appendData(.string, $0) } }
    }

    /// A byte array as one length-prefixed copy.
    func append(bytes value: [UInt8]) {
        value.withUnsafeBytes { appendData(.bytes, $0) }
    }

    private func appendData(_ tag: SnapshotTag, _ data: UnsafeRawBufferPointer) {
        append(tag, varint: UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    /// Writes `value` as a varint at `offset` of `buffer` (which has room for 10 bytes); returns its length.
    private static func storeVarint(
        _ value: UInt64,
        into buffer: UnsafeMutableRawBufferPointer,
        at offset: Int
    ) -> Int {
        var value = value
        var index = offset
        while value >= 0x80 {
            buffer[index] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            index += 1
        }
        buffer[index] = UInt8(value)
        return index + 1 - offset
    }

    private func appendVarint(_ value: UInt64) {
        var scratch: (UInt64, UInt64) = (0, 0)
        let count = withUnsafeMutableBytes(of: &scratch) { Self.storeVarint(value, into: $0, at: 0) }
        withUnsafeBytes(of: &scratch) { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    // MARK: Keys

    /// A keyed container's key: its index in the key table, which gets the key on first use.
    func appendKey(_ key: String) {
        if let index = keyIndices[key] {
            appendVarint(UInt64(index))
        } else {
            keyIndices[key] = keys.count
            appendVarint(UInt64(keys.count))
            keys.append(key)
        }
    }

    /// The key table, after the root value.
    func appendKeyTable() {
        appendVarint(UInt64(keys.count))
        for key in keys {
            let done: Void? = key.utf8.withContiguousStorageIfAvailable {
                appendVarint(UInt64($0.count))
                bytes.append(contentsOf: $0)
            }
            if done == nil {
                appendVarint(UInt64(key.utf8.count))
                bytes.append(contentsOf: key.utf8)
            }
        }
    }

    // MARK: Containers

    /// Opens a container at nesting `level` (its index among the open ones), closing any deeper ones
    /// first; returns its id, or nil (and records why) when the container at `level - 1` is closed.
    func openContainer(_ tag: SnapshotTag, level: Int, node: (any SnapshotPathNode)?) -> Int? {
        guard makeRoom(atLevel: level, node: node) else { return nil }
        guard level < maxDepth else {
            fail(.nestingTooDeep(limit: maxDepth, path: Self.path(of: node)))
            return nil
        }
        append(tag)
        let start = bytes.count
        withUnsafeBytes(of: UInt32(0)) { bytes.append(contentsOf: $0) }
        return push(start: start, isSlot: false)
    }

    /// Opens the slot of a `superEncoder` at `level`: a value whose encoder may write nothing (an
    /// empty keyed container is written for it then).
    func openSlot(level: Int, node: (any SnapshotPathNode)?) -> Int? {
        guard makeRoom(atLevel: level, node: node) else { return nil }
        return push(start: bytes.count, isSlot: true)
    }

    private func push(start: Int, isSlot: Bool) -> Int {
        nextID += 1
        open.append(Open(id: nextID, start: start, isSlot: isSlot))
        return nextID
    }

    /// Makes container `id` at `level` the innermost open one before a value is written into it.
    func prepare(container id: Int?, level: Int, node: (any SnapshotPathNode)?) throws(SnapshotCodingError) {
        try throwPending()
        guard let id else { throw .containerMisuse("used a container it could not get", path: Self.path(of: node)) }
        try close(deeperThan: level, node: node)
        guard open.count == level + 1, open[level].id == id else {
            throw .containerMisuse(
                "wrote to a container after a container further out moved on",
                path: Self.path(of: node)
            )
        }
    }

    /// Before a value with its own container at `level` is written: nothing deeper may be open.
    func prepareValue(level: Int, node: (any SnapshotPathNode)?) throws(SnapshotCodingError) {
        try close(deeperThan: level - 1, node: node)
        guard open.count == level else {
            throw .containerMisuse("wrote a value after its container moved on", path: Self.path(of: node))
        }
    }

    /// Closes the containers deeper than `level` (patching their lengths).
    func close(deeperThan level: Int, node: (any SnapshotPathNode)?) throws(SnapshotCodingError) {
        while open.count > level + 1, let last = open.popLast() {
            if last.isSlot {
                if bytes.count == last.start { appendEmptyContainer() }
                continue
            }
            let length = bytes.count - last.start - SnapshotFormat.containerLengthSize
            guard let length32 = UInt32(exactly: length) else {
                throw .containerTooLarge(bytes: length, path: Self.path(of: node))
            }
            bytes.withUnsafeMutableBytes {
                $0.storeBytes(of: length32.littleEndian, toByteOffset: last.start, as: UInt32.self)
            }
        }
        try throwPending()
    }

    /// Closes the containers at `level` and deeper; false (recorded) when fewer than `level` are open.
    private func makeRoom(atLevel level: Int, node: (any SnapshotPathNode)?) -> Bool {
        do {
            try close(deeperThan: level - 1, node: node)
        } catch {
            fail(error)
            return false
        }
        guard open.count == level else {
            fail(.containerMisuse("opened a container after its parent moved on", path: Self.path(of: node)))
            return false
        }
        return true
    }

    /// What a value that wrote nothing (an empty `encode(to:)`) becomes: an empty keyed container.
    func appendEmptyContainer() {
        append(.keyed)
        withUnsafeBytes(of: UInt32(0)) { bytes.append(contentsOf: $0) }
    }

    /// The number of bytes written.
    var count: Int { bytes.count }

    // MARK: Errors

    private static func path(of node: (any SnapshotPathNode)?) -> String {
        node?.path() ?? "the root"
    }

    /// Records an error where the Encoder protocol cannot throw; the first one wins.
    func fail(_ error: SnapshotCodingError) {
        if pendingError == nil { pendingError = error }
    }

    func throwPending() throws(SnapshotCodingError) {
        if let pendingError { throw pendingError }
    }

    // MARK: Framing

    /// Writes the header with a zero body length; ``finish()`` fills it in.
    func appendHeader(reservingCapacity capacity: Int) {
        bytes.reserveCapacity(max(capacity, 64))
        bytes.append(contentsOf: SnapshotFormat.magic)
        withUnsafeBytes(of: SnapshotFormat.version.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8](repeating: 0, count: 2 + 8))  // flags, body length
    }

    /// Writes the key table, the body length and the checksum; returns the snapshot.
    func finish() -> [UInt8] {
        appendKeyTable()
        let bodyLength = bytes.count - SnapshotFormat.headerSize
        let crc = bytes.withUnsafeMutableBytes { buffer in
            buffer.storeBytes(of: UInt64(bodyLength).littleEndian, toByteOffset: 8, as: UInt64.self)
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[SnapshotFormat.headerSize...]))
        }
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }
}
