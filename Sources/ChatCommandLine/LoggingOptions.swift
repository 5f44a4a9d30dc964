import ArgumentParser
import ChatLogging
import Logging

/// `--log-level` and `--log-format`, the same on both commands (`@OptionGroup`).
public struct LoggingOptions: ParsableArguments {
    @Option(help: "Lowest log level printed.")
    public var logLevel: Logger.Level = .info

    @Option(
        help:
            "Log line format: text (readable lines) or json (one object per line: time, level, label, message, metadata; for log collectors)."
    )
    public var logFormat: LogFormat = .text

    public init() {}

    /// Sends every logger of the process to the terminal with these options.
    public func bootstrap() {
        TerminalLogHandler.bootstrap(level: logLevel, format: logFormat)
    }
}
