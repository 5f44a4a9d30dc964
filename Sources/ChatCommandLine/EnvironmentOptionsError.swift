/// The argument parser gave no readable description of a command's options.
public enum EnvironmentOptionsError: Error, CustomStringConvertible {
    case noDescription(command: String)

    public var description: String {
        switch self {
        case .noDescription(let command):
            return
                "could not read the options of \(command) from swift-argument-parser's --experimental-dump-help (has its format changed?); CHAT_* environment variables cannot be applied"
        }
    }
}
