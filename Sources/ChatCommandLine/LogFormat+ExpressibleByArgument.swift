import ArgumentParser
import ChatLogging

/// `--log-format text|json` on both commands.
extension LogFormat: ExpressibleByArgument {}
