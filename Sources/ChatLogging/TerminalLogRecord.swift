import Foundation
import Logging

/// One log event as the hot thread hands it over: the clock reading and references to its parts. The
/// line is formatted (escaping, ordering, the timestamp's digits) by the output's own thread.
public struct TerminalLogRecord: Sendable {
    /// Wall-clock time of the event.
    var seconds: Int
    var milliseconds: Int
    var format: LogFormat
    var level: Logger.Level
    var label: String
    var message: Logger.Message
    var metadata: Logger.Metadata

    /// Bytes reserved in the output's buffer for the line: an upper estimate, since the line is not
    /// formatted yet (a value longer than this is still written whole; the estimate only bounds memory).
    var reservedBytes: Int { 96 + metadata.count * 48 }

    /// The event at the current wall-clock time.
    init(format: LogFormat, level: Logger.Level, label: String, message: Logger.Message, metadata: Logger.Metadata) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        self.seconds = Int(spec.tv_sec)
        self.milliseconds = Int(spec.tv_nsec / 1_000_000)
        self.format = format
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
    }

    /// The line in its format (without its newline).
    func formatted() -> String {
        let timestamp = LogTimestamp.format(seconds: seconds, milliseconds: milliseconds)
        switch format {
        case .text:
            return TerminalLogHandler.format(
                timestamp: timestamp,
                level: level,
                label: label,
                message: "\(message)",
                metadata: metadata
            )
        case .json:
            return JSONLogLine.format(
                timestamp: timestamp,
                level: level,
                label: label,
                message: "\(message)",
                metadata: metadata
            )
        }
    }
}
