import Glibc
import Synchronization

/// The broker's data folder (`--data-dir`): journal segments and snapshots (``DataFile``), a `FORMAT`
/// line saying how they are written, and a `lock` held while a broker uses it. Mode 0700, files 0600.
public final class DataDirectory: Sendable {
    /// The folder's path.
    public let path: String
    private let lockDescriptor: Int32
    private let unlocked = Atomic<Bool>(false)

    /// What `FORMAT` holds for the files this build writes.
    public static let formatLine = "swift-zmq-chat broker data, format 1"

    /// Opens (creating it if needed) the folder at `path`, takes its lock, and checks its format.
    public init(path: String) throws(StorageError) {
        self.path = path
        try Self.makeFolders(path)
        // Rooms' passwords hashes and messages: nobody else may read them.
        guard chmod(path, 0o700) == 0 else { throw .system(operation: "chmod 0700", path: path, errno: errno) }
        let lockPath = path + "/lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .system(operation: "open", path: lockPath, errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? POSIXFile(path: lockPath, flags: O_RDONLY).readAll(limit: 64)).map {
                "pid " + String(decoding: $0, as: UTF8.self).trimmingWhitespace
            }
            Glibc.close(descriptor)
            throw .locked(path: path, holder: holder ?? "unknown pid")
        }
        lockDescriptor = descriptor
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        try checkFormat()
    }

    /// Creates `path` and any missing folder above it (mode 0700, as `mkdir -p`).
    private static func makeFolders(_ path: String) throws(StorageError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw .system(operation: "mkdir", path: prefix, errno: errno)
            }
        }
    }

    deinit {
        unlock()
    }

    /// Releases the folder's lock (another broker may then open it); nothing may be written after.
    public func unlock() {
        if !unlocked.exchange(true, ordering: .relaxed) { Glibc.close(lockDescriptor) }
    }

    private func checkFormat() throws(StorageError) {
        let formatPath = path + "/FORMAT"
        if access(formatPath, F_OK) == 0 {
            let file = try POSIXFile(path: formatPath, flags: O_RDONLY)
            defer { file.close() }
            let found = String(decoding: try file.readAll(limit: 256), as: UTF8.self).trimmingWhitespace
            guard found == Self.formatLine else { throw .incompatible(path: path, found: found) }
            return
        }
        guard files().isEmpty else { throw .incompatible(path: path, found: "no FORMAT file") }
        try writeAtomically(name: "FORMAT", bytes: Array((Self.formatLine + "\n").utf8))
    }

    /// The journal segments and snapshots in the folder, in (generation, position) order.
    public func files() -> [DataFile] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var found: [DataFile] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let file = DataFile(name: name) { found.append(file) }
        }
        return found.sorted()
    }

    /// The path of `file`.
    public func path(of file: DataFile) -> String { path + "/" + file.name }

    /// Writes `bytes` to `name` so that the file is either whole or absent after a crash: a temporary
    /// file written and fsynced, renamed over, and the folder fsynced.
    func writeAtomically(name: String, bytes: [UInt8]) throws(StorageError) {
        let temporary = path + "/." + name + ".tmp"
        let file = try POSIXFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try file.writeAll(bytes)
            try file.sync()
            file.close()
        } catch {
            file.close()
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path + "/" + name) == 0 else {
            let code = errno
            unlink(temporary)
            throw .system(operation: "rename", path: temporary, errno: code)
        }
        try syncDirectory()
    }

    /// Makes the folder's entries (new, renamed and removed files) durable.
    func syncDirectory() throws(StorageError) {
        let file = try POSIXFile(path: path, flags: O_RDONLY | O_DIRECTORY)
        defer { file.close() }
        guard fsync(file.descriptor) == 0 else { throw .system(operation: "fsync", path: path, errno: errno) }
    }

    /// Removes `file` (a missing one is not an error).
    func remove(_ file: DataFile) {
        unlink(path(of: file))
    }

    /// Moves a damaged `file` aside (`NAME.damaged`), kept for inspection and never read again.
    func setAside(_ file: DataFile) {
        rename(path(of: file), path(of: file) + ".damaged")
    }

    /// Bytes free for this process on the folder's file system.
    func freeBytes() -> Int {
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { return 0 }
        return Int(status.f_bavail) * Int(status.f_frsize)
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(
            self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed()
        )
    }
}
