import Foundation

/// The folder key files are written into.
enum KeyFolder {
    /// Creates `path` (and its parents) with mode 0700 if it does not exist.
    static func create(_ path: String) throws {
        guard !exists(path) else { return }
        try FileManager.default.createDirectory(
            atPath: path,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
    }

    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }
}
