import Foundation
import Logging

/// A swift-log handler that prints each event as one readable terminal line:
/// `2026-11-25T11:24:03.120Z INFO  broker join room=lobby name=alice gateway=gw-1 conn=7`,
/// or with ``format`` `.json` as one JSON object per line (``JSONLogLine``).
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
    /// Readable lines (the default) or JSON objects.
    public var format: LogFormat = .text

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

    /// Sets up swift-log so every logger prints through this handler at `level`, in `format`.
    public static func bootstrap(level: Logger.Level, format: LogFormat = .text) {
        // A write to a closed terminal or pipe (a hung-up session, a reader gone) must cost a counted
        // lost line (`BufferedTerminalOutput` counts a failed write's lines as dropped), never the
        // process: without this, SIGPIPE's default action kills it at its next log line.
        signal(SIGPIPE, SIG_IGN)
        LoggingSystem.bootstrap { label in
            var handler = TerminalLogHandler(label: label)
            handler.logLevel = level
            handler.format = format
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
            write(
                TerminalLogRecord(
                    format: format,
                    level: event.level,
                    label: label,
                    message: event.message,
                    metadata: merged
                ).formatted()
            )
        case .records(let buffer):
            buffer.write(
                record: TerminalLogRecord(
                    format: format,
                    level: event.level,
                    label: label,
                    message: event.message,
                    metadata: merged
                )
            )
        }
    }

    /// The line for one event (exposed for tests).
    public static func format(
        timestamp: String,
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata
    ) -> String {
        var line = timestamp
        line += " " + levelName(level) + " " + label + " " + escape(message, quoteIfSpaced: false)
        for (key, value) in orderedEntries(of: metadata) {
            line += " \(key)=" + escape("\(value)", quoteIfSpaced: true)
        }
        return line
    }

    /// The metadata in the order both formats print it: ``preferredOrder`` first, the rest
    /// alphabetically.
    ///
    /// Runs for every line on the output's thread, so it walks the dictionary once (no hashing: the
    /// keys are short, and comparing them with the preferred ones is cheaper than looking those up)
    /// and sorts the few entries by rank.
    static func orderedEntries(of metadata: Logger.Metadata) -> [(key: String, value: Logger.MetadataValue)] {
        let entries = Array(metadata)
        let ranks = entries.map { preferredOrder.firstIndex(of: $0.key) ?? preferredOrder.count }
        // An insertion sort of indices: a line has a handful of entries, and moving the entries
        // themselves (enums with payloads) costs more than the comparisons.
        var order = Array(entries.indices)
        for next in order.indices.dropFirst() {
            let moving = order[next]
            var slot = next
            while slot > 0, Self.precedes(moving, order[slot - 1], ranks: ranks, entries: entries) {
                order[slot] = order[slot - 1]
                slot -= 1
            }
            order[slot] = moving
        }
        return order.map { entries[$0] }
    }

    private static func precedes(
        _ lhs: Int,
        _ rhs: Int,
        ranks: [Int],
        entries: [(key: String, value: Logger.MetadataValue)]
    ) -> Bool {
        ranks[lhs] != ranks[rhs] ? ranks[lhs] < ranks[rhs] : entries[lhs].key < entries[rhs].key
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
    ///
    /// Works on UTF-8 bytes: the control characters (general category Cc: U+0000–001F, U+007F–009F)
    /// and U+2028/U+2029 are recognisable byte by byte, and a value with none of them, no space and no
    /// quote (most values) is returned as it is.
    static func escape(_ value: String, quoteIfSpaced: Bool) -> String {
        var needsQuotes = quoteIfSpaced && value.isEmpty
        var clean = true
        for byte in value.utf8
        where byte < 0x21 || byte == 0x22 || byte == 0x5C || byte == 0x7F || byte == 0xC2 || byte == 0xE2 {
            if byte == 0x20 {
                needsQuotes = needsQuotes || quoteIfSpaced
                continue
            }
            clean = false
            break
        }
        if clean { return needsQuotes ? "\"" + value + "\"" : value }
        let bytes = Array(value.utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + 16)
        func appendEscaped(_ scalar: UInt32) {
            result.append(contentsOf: "\\u{\(String(scalar, radix: 16))}".utf8)
            needsQuotes = quoteIfSpaced
        }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x0A:
                result += [0x5C, UInt8(ascii: "n")]
                needsQuotes = quoteIfSpaced
            case 0x0D:
                result += [0x5C, UInt8(ascii: "r")]
                needsQuotes = quoteIfSpaced
            case 0x09:
                result += [0x5C, UInt8(ascii: "t")]
                needsQuotes = quoteIfSpaced
            case 0x22 where quoteIfSpaced:
                result += [0x5C, 0x22]
                needsQuotes = true
            case 0x5C where quoteIfSpaced: result += [0x5C, 0x5C]
            case 0x20:
                result.append(byte)
                needsQuotes = quoteIfSpaced
            case 0x00...0x1F, 0x7F: appendEscaped(UInt32(byte))
            case 0xC2 where index + 1 < bytes.count && (0x80...0x9F).contains(bytes[index + 1]):
                appendEscaped(UInt32(bytes[index + 1]))
                index += 1
            case 0xE2
            where index + 2 < bytes.count && bytes[index + 1] == 0x80
                && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9):
                appendEscaped(bytes[index + 2] == 0xA8 ? 0x2028 : 0x2029)
                index += 2
            default: result.append(byte)
            }
            index += 1
        }
        let escaped = String(decoding: result, as: UTF8.self)
        return needsQuotes ? "\"" + escaped + "\"" : escaped
    }
}
