import Glibc

/// Why the data folder cannot be used; each says what to do.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed on a path.
    case system(operation: String, path: String, errno: Int32)
    /// Another process holds the folder's lock.
    case locked(path: String, holder: String)
    /// The folder holds data of another format version.
    case incompatible(path: String, found: String)
    /// Snapshots exist but none can be read.
    case noReadableSnapshot(path: String, tried: Int)

    public var description: String {
        switch self {
        case .system(let operation, let path, let errno):
            return "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case .locked(let path, let holder):
            return "\(path) is in use by another broker (\(holder)): give each broker its own --data-dir"
        case .incompatible(let path, let found):
            return
                "\(path) holds data this build cannot read ('\(found)', expected '\(DataDirectory.formatLine)'): "
                + "start the build that wrote it, or move the folder away to start with no rooms"
        case .noReadableSnapshot(let path, let tried):
            return
                "none of the \(tried) snapshots in \(path) can be read (see the log): move the folder away to start with no "
                + "rooms, or restore a snapshot from a backup"
        }
    }
}
