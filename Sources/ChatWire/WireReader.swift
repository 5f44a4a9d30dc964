/// Reads wire-format fields from one frame, failing with a ``WireError`` that names the field.
public struct WireReader {
    private let bytes: [UInt8]
    private var offset: Int

    /// A reader over `bytes`, refusing frames larger than `limit`.
    public init(_ bytes: [UInt8], limit: Int = WireFormat.maxFrameSize) throws(WireError) {
        guard bytes.count <= limit else { throw .oversized(size: bytes.count, limit: limit) }
        self.bytes = bytes
        self.offset = 0
    }

    /// Bytes not read yet.
    public var remaining: Int { bytes.count - offset }

    /// Reads one byte.
    public mutating func readByte(_ field: String) throws(WireError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(field: field) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads a big-endian 32-bit integer.
    public mutating func readUInt32(_ field: String) throws(WireError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated(field: field) }
        var value: UInt32 = 0
        for index in offset..<offset + 4 { value = value << 8 | UInt32(bytes[index]) }
        offset += 4
        return value
    }

    /// Reads a big-endian 64-bit integer.
    public mutating func readUInt64(_ field: String) throws(WireError) -> UInt64 {
        guard remaining >= 8 else { throw .truncated(field: field) }
        var value: UInt64 = 0
        for index in offset..<offset + 8 { value = value << 8 | UInt64(bytes[index]) }
        offset += 8
        return value
    }

    /// Reads a length-prefixed blob.
    public mutating func readBlob(_ field: String) throws(WireError) -> [UInt8] {
        let length = Int(try readUInt32(field))
        guard remaining >= length else { throw .truncated(field: field) }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    /// Reads a length-prefixed UTF-8 string.
    public mutating func readString(_ field: String) throws(WireError) -> String {
        let length = Int(try readUInt32(field))
        guard remaining >= length else { throw .truncated(field: field) }
        defer { offset += length }
        guard let string = String(validating: bytes[offset..<offset + length], as: UTF8.self) else {
            throw .invalidUTF8(field: field)
        }
        return string
    }

    /// Reads a counted list of strings.
    public mutating func readStrings(_ field: String) throws(WireError) -> [String] {
        let count = Int(try readUInt32(field))
        // Each string takes at least its 4-byte length: refuse counts the frame cannot hold.
        guard count <= remaining / 4 else { throw .truncated(field: field) }
        var values: [String] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readString(field)) }
        return values
    }

    /// Fails unless every byte was read.
    public func finish() throws(WireError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }
}
