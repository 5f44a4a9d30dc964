import Foundation
import NIOCore

/// The files of the static directory, read into memory once at start and served by path.
///
/// Lookups only ever return files that were found under the directory at load time, and paths with
/// `..`, `.`, empty segments, backslashes or NUL are refused, so no request can reach outside it.
/// Dotfiles and everything under a dot-folder (`.env`, `.git/`, `.well-known/`) are never loaded, so
/// never served (404).
public struct StaticFiles: Sendable {
    /// One loaded file.
    public struct File: Sendable {
        /// The file's bytes.
        public var body: ByteBuffer
        /// The `Content-Type` for the file's extension.
        public var contentType: String
    }

    /// Files by URL path (e.g. `/index.html`, `/js/app.js`).
    private let files: [String: File]

    /// An empty set of files: every lookup misses.
    public init() {
        self.files = [:]
    }

    /// Loads every regular file under `directory` (recursively), but for hidden ones: a name or a folder
    /// name starting with `.`.
    public init(directory: String) throws(StaticFilesError) {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StaticFilesError.notADirectory(directory)
        }
        guard
            let enumerator = FileManager.default.enumerator(
                at: root,
                includingPropertiesForKeys: [.isRegularFileKey],
                options: []
            )
        else {
            throw StaticFilesError.notADirectory(directory)
        }
        let rootComponents = root.resolvingSymlinksInPath().pathComponents
        var files: [String: File] = [:]
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let components = url.resolvingSymlinksInPath().pathComponents
            // Skip symlinks that lead out of the directory.
            guard components.count > rootComponents.count,
                Array(components.prefix(rootComponents.count)) == rootComponents
            else {
                continue
            }
            let relative = url.standardizedFileURL.pathComponents.dropFirst(root.pathComponents.count)
            guard !relative.isEmpty, !relative.contains(where: { $0.hasPrefix(".") }) else { continue }
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw StaticFilesError.unreadableFile(url.path)
            }
            let key = "/" + relative.joined(separator: "/")
            files[key] = File(body: ByteBuffer(bytes: data), contentType: Self.contentType(forPath: key))
        }
        self.files = files
    }

    /// Number of loaded files.
    public var count: Int { files.count }

    /// The file for a request path (query and fragment are ignored, `%XX` is decoded, `/` and any
    /// path ending in `/` map to `index.html`), or `nil` when there is none or the path is refused.
    public func file(forRequestPath requestPath: String) -> File? {
        guard let key = Self.normalizedKey(requestPath) else { return nil }
        return files[key]
    }

    /// The lookup key for a request path, or `nil` when the path is refused.
    static func normalizedKey(_ requestPath: String) -> String? {
        var path = Substring(requestPath)
        if let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            path = path[..<cut]
        }
        guard path.hasPrefix("/"), let decoded = String(path).removingPercentEncoding else { return nil }
        if decoded.contains("\\") || decoded.contains("\0") { return nil }
        var segments = decoded.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if segments.last == "" {
            segments.removeLast()
            segments.append("index.html")
        }
        for segment in segments where segment.isEmpty || segment == "." || segment == ".." {
            return nil
        }
        return "/" + segments.joined(separator: "/")
    }

    /// The `Content-Type` for a path's extension (`application/octet-stream` when unknown).
    public static func contentType(forPath path: String) -> String {
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: ".") else { return "application/octet-stream" }
        switch name[name.index(after: dot)...].lowercased() {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json", "map": return "application/json"
        case "txt": return "text/plain; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "ico": return "image/x-icon"
        case "woff": return "font/woff"
        case "woff2": return "font/woff2"
        case "wasm": return "application/wasm"
        case "webmanifest": return "application/manifest+json"
        default: return "application/octet-stream"
        }
    }
}
