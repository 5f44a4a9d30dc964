import ArgumentParser
import Logging

/// `--log-level trace|debug|info|notice|warning|error|critical`: the parser checks the value and lists
/// the choices in `--help` and in its error.
extension Logger.Level: @retroactive ExpressibleByArgument {}
