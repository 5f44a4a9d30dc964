/// Appends wire-format fields (big-endian integers, length-prefixed UTF-8) to a byte array.
public struct WireWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends one byte.
    public mutating func write(_ value: UInt8) {
        bytes.append(value)
    }

    /// Appends a big-endian 32-bit integer.
    public mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a big-endian 64-bit integer.
    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a string as a 32-bit byte length followed by its UTF-8 bytes.
    public mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            write(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends raw bytes as a 32-bit length followed by the bytes.
    public mutating func write(blob: [UInt8]) {
        write(UInt32(blob.count))
        bytes.append(contentsOf: blob)
    }

    /// Appends a list of strings as a 32-bit count followed by each string.
    public mutating func write(_ values: [String]) {
        write(UInt32(values.count))
        for value in values { write(value) }
    }
}
