import Glibc

/// An open file descriptor with the few calls the journal needs; every failure is a ``StorageError``
/// naming the path. Not thread-safe: one owner at a time.
struct POSIXFile {
    let descriptor: Int32
    let path: String

    /// Opens `path` with `flags`; new files get mode 0600.
    init(path: String, flags: Int32) throws(StorageError) {
        let descriptor = open(path, flags | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
        self.descriptor = descriptor
        self.path = path
    }

    /// Writes all of `bytes` (retrying short writes); on failure some of them may be written.
    func writeAll(_ bytes: UnsafeRawBufferPointer) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .system(operation: "write", path: path, errno: errno)
            }
            offset += written
        }
    }

    /// Writes all of `bytes`.
    func writeAll(_ bytes: [UInt8]) throws(StorageError) {
        var failure: StorageError?
        bytes.withUnsafeBytes { buffer in
            do throws(StorageError) {
                try writeAll(buffer)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Flushes the file's data and size to the disk.
    func sync() throws(StorageError) {
        guard fdatasync(descriptor) == 0 else { throw .system(operation: "fdatasync", path: path, errno: errno) }
    }

    /// The file's size.
    func size() throws(StorageError) -> Int {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .system(operation: "stat", path: path, errno: errno) }
        return Int(status.st_size)
    }

    /// Cuts the file to `length` bytes and moves the write position to its end.
    func truncate(to length: Int) throws(StorageError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else {
            throw .system(operation: "truncate", path: path, errno: errno)
        }
        guard lseek(descriptor, off_t(length), SEEK_SET) >= 0 else {
            throw .system(operation: "seek", path: path, errno: errno)
        }
    }

    /// Reads the whole file (at most `limit` bytes).
    func readAll(limit: Int) throws(StorageError) -> [UInt8] {
        let size = min(try size(), limit)
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress.map { $0 + offset }, size - offset, off_t(offset))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(operation: "read", path: path, errno: errno)
            }
            if count == 0 { break }
            offset += count
        }
        return offset == size ? bytes : Array(bytes[0..<offset])
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
