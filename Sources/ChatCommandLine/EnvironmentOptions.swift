import ArgumentParser
import Foundation

/// Every option of a command, each settable by an environment variable named `CHAT_` plus the
/// option's long name in upper snake case (`--broker-commands` → `CHAT_BROKER_COMMANDS`).
///
/// The options are read from the command type itself, through swift-argument-parser's
/// `--experimental-dump-help` description of it: options added to a command later are covered
/// without being listed anywhere. ``completing(_:from:)`` puts the variables' arguments before the
/// command line's; an option the command line gives ignores its variable (the command line wins,
/// and a repeatable option's values are never mixed from both).
public struct EnvironmentOptions: Sendable {
    /// The prefix of every variable.
    public static let defaultPrefix = "CHAT_"
    /// Built-in flags of the argument parser, which no variable sets.
    static let builtInNames: Set<String> = [
        "help", "help-hidden", "experimental-dump-help", "version", "generate-completion-script",
    ]

    /// The command's options in the order `--help` lists them.
    public let options: [EnvironmentOption]

    /// The options of `command`. Throws only if the argument parser's description of the command
    /// cannot be read (a change in swift-argument-parser; the unit tests catch it).
    public init(for command: any ParsableCommand.Type, prefix: String = defaultPrefix) throws {
        let dump: String
        do {
            _ = try command.parseAsRoot(["--experimental-dump-help"])
            throw EnvironmentOptionsError.noDescription(command: "\(command)")
        } catch let error as EnvironmentOptionsError {
            throw error
        } catch {
            // The request for the description comes back as an error whose message is the JSON.
            dump = command.fullMessage(for: error)
        }
        let arguments: [ArgumentDump.Argument]
        do {
            arguments = try JSONDecoder().decode(ArgumentDump.self, from: Data(dump.utf8)).command.arguments ?? []
        } catch {
            throw EnvironmentOptionsError.noDescription(command: "\(command)")
        }
        options = Self.options(from: arguments, prefix: prefix)
    }

    /// The option that `variable` sets, if any.
    public func option(forVariable variable: String) -> EnvironmentOption? {
        options.first { $0.variable == variable }
    }

    /// The arguments to parse: those of the variables in `environment` whose options `commandLine`
    /// does not give, then `commandLine`. An empty variable counts as unset. Throws
    /// ``EnvironmentValueError`` for a flag's variable whose value is not a switch word.
    public func completing(
        _ commandLine: [String],
        from environment: [String: String]
    ) throws(EnvironmentValueError) -> CompletedCommandLine {
        var arguments: [String] = []
        var used: [EnvironmentOption] = []
        for option in options {
            guard let value = environment[option.variable], !value.isEmpty, !option.isGiven(in: commandLine) else {
                continue
            }
            arguments += try option.arguments(for: value)
            used.append(option)
        }
        return CompletedCommandLine(arguments: arguments + commandLine, fromEnvironment: used)
    }

    /// The ENVIRONMENT section appended to `--help`: the rules, then each visible option's variable.
    public func helpSection(width: Int = 80) -> String {
        let rules = """
            Every option can also be set by an environment variable: \(Self.defaultPrefix) and the option's \
            name in upper snake case, as listed here. An option given on the command line ignores its \
            variable; an empty variable counts as unset. A repeatable option takes a comma-separated \
            list; a flag takes 1, true or yes (0, false or no: off). For systemd units: \
            EnvironmentFile= (docs/DEPLOY.md).
            """
        let visible = options.filter(\.isVisible)
        let column = (visible.map(\.variable.count).max() ?? 0) + 4
        var lines = ["ENVIRONMENT:"]
        lines += Self.wrap(rules, width: width - 2).map { "  " + $0 }
        lines.append("")
        for option in visible {
            let note =
                switch option.kind {
                case .value: ""
                case .repeatable: " (comma-separated)"
                case .flag, .countedFlag: " (flag)"
                }
            lines.append(
                "  " + option.variable.padding(toLength: column, withPad: " ", startingAt: 0) + option.name + note
            )
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - Private

    /// One option per named argument that has a long name; an inverted flag (`--x` / `--no-x`,
    /// `--enable-x` / `--disable-x`) is one variable for its positive name.
    private static func options(from arguments: [ArgumentDump.Argument], prefix: String) -> [EnvironmentOption] {
        let named = arguments.filter { argument in
            argument.kind != .positional && argument.longName.map { !builtInNames.contains($0) } ?? false
        }
        let flagNames = Set(named.filter { $0.kind == .flag }.compactMap(\.longName))
        var options: [EnvironmentOption] = []
        for argument in named {
            guard let longName = argument.longName, negatedName(of: longName).map({ !flagNames.contains($0) }) ?? true
            else {
                continue  // the off half of an inverted flag: set through its positive half's variable
            }
            var spellings = (argument.names ?? []).map(\.spelling)
            var offSpelling: String?
            if argument.kind == .flag, let off = offName(of: longName), flagNames.contains(off),
                let offArgument = named.first(where: { $0.longName == off })
            {
                offSpelling = "--" + off
                spellings += (offArgument.names ?? []).map(\.spelling)
            }
            let kind: EnvironmentOption.Kind =
                switch (argument.kind, argument.isRepeating) {
                case (.flag, false): .flag
                case (.flag, true): .countedFlag
                case (_, true): .repeatable
                default: .value
                }
            options.append(
                EnvironmentOption(
                    variable: prefix + longName.uppercased().replacingOccurrences(of: "-", with: "_"),
                    name: "--" + longName,
                    kind: kind,
                    isVisible: argument.shouldDisplay,
                    spellings: spellings,
                    offSpelling: offSpelling
                )
            )
        }
        return options
    }

    /// `x` for `no-x`, `enable-x` for `disable-x`: the positive name an off flag belongs to.
    private static func negatedName(of name: String) -> String? {
        if name.hasPrefix("no-") { return String(name.dropFirst(3)) }
        if name.hasPrefix("disable-") { return "enable-" + name.dropFirst(8) }
        return nil
    }

    /// `no-x` for `x`, `disable-x` for `enable-x`: the off name a positive flag may have.
    private static func offName(of name: String) -> String? {
        if name.hasPrefix("enable-") { return "disable-" + name.dropFirst(7) }
        return "no-" + name
    }

    /// `text` broken into lines of at most `width` characters at spaces.
    private static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
