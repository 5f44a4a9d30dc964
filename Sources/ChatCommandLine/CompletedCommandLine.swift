import Foundation

/// A command line completed by environment variables: what the parser reads, and which options
/// came from the environment (to name their variables in an error).
public struct CompletedCommandLine: Equatable, Sendable {
    /// The arguments from the environment, then the command line's own.
    public let arguments: [String]
    /// The options set by a variable (those the command line did not give).
    public let fromEnvironment: [EnvironmentOption]

    /// Lines naming the variable behind each option set from the environment that `message`
    /// mentions. Only the message itself is searched, not the usage and help lines that the
    /// argument parser appends (they list every option).
    public func notes(forErrorMessage message: String) -> [String] {
        let text = message.split(separator: "\n", omittingEmptySubsequences: false)
            .prefix { !$0.hasPrefix("Usage:") && !$0.hasPrefix("Help:") }
            .joined(separator: "\n")
        return
            fromEnvironment
            .filter { option in Self.mentions(text, option.spellings) }
            .map {
                "Note: \($0.name) was set by the environment variable \($0.variable) (a command-line \($0.name) would win over it)."
            }
    }

    /// Whether `text` holds one of `spellings` as a whole option name (`--port`, not `--port-range`).
    private static func mentions(_ text: String, _ spellings: [String]) -> Bool {
        spellings.contains { spelling in
            var searchStart = text.startIndex
            while let range = text.range(of: spelling, range: searchStart..<text.endIndex) {
                let next = text[range.upperBound...].first
                if next.map({ !($0.isLetter || $0.isNumber || $0 == "-") }) ?? true { return true }
                searchStart = range.upperBound
            }
            return false
        }
    }
}
