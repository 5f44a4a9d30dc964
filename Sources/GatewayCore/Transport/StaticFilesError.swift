/// Errors thrown while loading the static directory.
public enum StaticFilesError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The directory does not exist or is not a directory.
    case notADirectory(String)
    /// A file in the directory could not be read.
    case unreadableFile(String)

    /// A message that says what went wrong and what to do about it.
    public var description: String {
        switch self {
        case .notADirectory(let path):
            return
                "Static directory '\(path)' does not exist or is not a directory: pass an existing folder with --static-dir."
        case .unreadableFile(let path):
            return "Could not read static file '\(path)': check its permissions."
        }
    }
}
