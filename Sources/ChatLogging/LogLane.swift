import Logging

/// Which share of a full log buffer a line may use (``BufferedTerminalOutput``): the one line per
/// event a flood can multiply never crowds out the lines that say something is wrong.
public enum LogLane: String, Sendable, CaseIterable {
    /// `info` and below: the one line per event (joins, leaves, messages).
    case ordinary
    /// `notice` and above: refusals, limits, warnings and errors. Kept while the buffer has room at all.
    case urgent

    /// The lane of a line at `level`.
    public init(level: Logger.Level) {
        self = level >= .notice ? .urgent : .ordinary
    }
}
