import Foundation
import Logging

/// A swift-log handler that prints each event as one readable terminal line:
/// `2026-11-25T11:24:03.120Z INFO  broker join room=lobby name=alice gateway=gw-1 conn=7`.
///
/// Metadata values are quoted and escaped when they contain spaces, quotes or control
/// characters, so user text can never break a line or forge another one.
public struct TerminalLogHandler: LogHandler {
    /// Keys printed first, in this order; the rest follow alphabetically.
    static let preferredOrder = ["room", "name", "seq", "members", "reason", "text", "gateway", "conn", "peer"]

    private let label: String
    /// Where lines go: formatted here (tests), or as records formatted by the output's thread.
    private let output: Output

    private enum Output: Sendable {
        case lines(@Sendable (String) -> Void)
        case records(BufferedTerminalOutput)
    }
    /// The lowest level printed.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every line of this logger.
    public var metadata: Logger.Metadata = [:]

    /// A handler for `label` writing to standard output in batches (``BufferedTerminalOutput``); the
    /// lines are formatted on the output's thread, not on the logging one.
    public init(label: String) {
        self.init(label: label, buffer: BufferedTerminalOutput.standard)
    }

    /// A handler for `label` queuing its events on `buffer`, which formats and writes them.
    public init(label: String, buffer: BufferedTerminalOutput) {
        self.label = label
        self.output = .records(buffer)
    }

    /// A handler for `label` giving each formatted line to `output` (for tests).
    public init(label: String, output: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.output = .lines(output)
    }

    /// Sets up swift-log so every logger prints through this handler at `level`.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = TerminalLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let extra = event.metadata {
            if merged.isEmpty { merged = extra } else { merged.merge(extra) { _, new in new } }
        }
        switch output {
        case .lines(let write):
            write(Self.format(
                timestamp: LogTimestamp.now(), level: event.level, label: label, message: "\(event.message)", metadata: merged))
        case .records(let buffer):
            buffer.write(record: TerminalLogRecord(level: event.level, label: label, message: event.message, metadata: merged))
        }
    }

    /// The line for one event (exposed for tests).
    public static func format(timestamp: String, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var line = timestamp
        line += " " + levelName(level) + " " + label + " " + escape(message, quoteIfSpaced: false)
        let keys = metadata.keys.sorted { lhs, rhs in
            let left = preferredOrder.firstIndex(of: lhs) ?? Int.max
            let right = preferredOrder.firstIndex(of: rhs) ?? Int.max
            return left == right ? lhs < rhs : left < right
        }
        for key in keys {
            guard let value = metadata[key] else { continue }
            line += " \(key)=" + escape("\(value)", quoteIfSpaced: true)
        }
        return line
    }

    private static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace: return "TRACE"
        case .debug: return "DEBUG"
        case .info: return "INFO "
        case .notice: return "NOTE "
        case .warning: return "WARN "
        case .error: return "ERROR"
        case .critical: return "CRIT "
        }
    }

    /// Escapes control characters; quotes values that contain spaces, quotes or are empty.
    static func escape(_ value: String, quoteIfSpaced: Bool) -> String {
        var needsQuotes = quoteIfSpaced && value.isEmpty
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"; needsQuotes = quoteIfSpaced
            case "\r": result += "\\r"; needsQuotes = quoteIfSpaced
            case "\t": result += "\\t"; needsQuotes = quoteIfSpaced
            case "\"" where quoteIfSpaced: result += "\\\""; needsQuotes = true
            case "\\" where quoteIfSpaced: result += "\\\\"
            case " ": result += " "; needsQuotes = quoteIfSpaced
            default:
                // ASCII (most of every line) without the Unicode property lookup.
                let isControl = scalar.value < 0x80
                    ? scalar.value < 0x20 || scalar.value == 0x7F
                    : scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
                if isControl {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                    needsQuotes = quoteIfSpaced
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return needsQuotes ? "\"" + result + "\"" : result
    }
}
