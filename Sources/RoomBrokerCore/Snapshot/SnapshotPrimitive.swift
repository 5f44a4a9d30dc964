/// A type written as one tagged value without a container: the fast paths of the snapshot coders
/// (integers as varints, strings as UTF-8, `[UInt8]` as one length-prefixed copy instead of a
/// container of numbers).
protocol SnapshotPrimitive: Codable {
    /// Appends the tagged value.
    func write(to writer: SnapshotWriter)
    /// Reads the value at `offset` (its tag), which ends by `limit`.
    static func read(from reader: SnapshotReader, at offset: Int, limit: Int, path: () -> String) throws -> Self
}

extension SnapshotPrimitive where Self: FixedWidthInteger {
    func write(to writer: SnapshotWriter) {
        if Self.isSigned {
            writer.append(signed: Int64(truncatingIfNeeded: self))
        } else {
            writer.append(unsigned: UInt64(truncatingIfNeeded: self))
        }
    }

    static func read(from reader: SnapshotReader, at offset: Int, limit: Int, path: () -> String) throws -> Self {
        try reader.readInteger(Self.self, at: offset, limit: limit, path: path)
    }
}

extension Int: SnapshotPrimitive {}
extension Int8: SnapshotPrimitive {}
extension Int16: SnapshotPrimitive {}
extension Int32: SnapshotPrimitive {}
extension Int64: SnapshotPrimitive {}
extension UInt: SnapshotPrimitive {}
extension UInt8: SnapshotPrimitive {}
extension UInt16: SnapshotPrimitive {}
extension UInt32: SnapshotPrimitive {}
extension UInt64: SnapshotPrimitive {}

extension Bool: SnapshotPrimitive {
    func write(to writer: SnapshotWriter) {
        writer.append(self)
    }

    static func read(from reader: SnapshotReader, at offset: Int, limit: Int, path: () -> String) throws -> Bool {
        try reader.readBool(at: offset, limit: limit, path: path)
    }
}

extension String: SnapshotPrimitive {
    func write(to writer: SnapshotWriter) {
        writer.append(self)
    }

    static func read(from reader: SnapshotReader, at offset: Int, limit: Int, path: () -> String) throws -> String {
        try reader.readString(at: offset, limit: limit, path: path)
    }
}

extension Double: SnapshotPrimitive {
    func write(to writer: SnapshotWriter) {
        writer.append(self)
    }

    static func read(from reader: SnapshotReader, at offset: Int, limit: Int, path: () -> String) throws -> Double {
        try reader.readDouble(at: offset, limit: limit, path: path)
    }
}

extension Float: SnapshotPrimitive {
    func write(to writer: SnapshotWriter) {
        writer.append(self)
    }

    static func read(from reader: SnapshotReader, at offset: Int, limit: Int, path: () -> String) throws -> Float {
        Float(try reader.readDouble(at: offset, limit: limit, path: path))
    }
}

extension Array: SnapshotPrimitive where Element == UInt8 {
    func write(to writer: SnapshotWriter) {
        writer.append(bytes: self)
    }

    static func read(from reader: SnapshotReader, at offset: Int, limit: Int, path: () -> String) throws -> [UInt8] {
        try reader.readBytes(at: offset, limit: limit, path: path)
    }
}
