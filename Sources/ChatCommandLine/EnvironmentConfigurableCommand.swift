import ArgumentParser
import Foundation

/// A command whose every option can also be set by a `CHAT_…` environment variable
/// (``EnvironmentOptions``); the command line wins. Conforming is all it takes: `main()` reads the
/// environment, `--help` ends with an ENVIRONMENT section listing the variables, and an error about
/// an option set from the environment names its variable.
public protocol EnvironmentConfigurableCommand: AsyncParsableCommand {}

extension EnvironmentConfigurableCommand {
    /// Parses the process's arguments completed by its environment, then runs the command.
    public static func main() async {
        switch outcome(
            commandLine: Array(CommandLine.arguments.dropFirst()),
            environment: ProcessInfo.processInfo.environment
        ) {
        case .exit(let text, let code):
            finish(text: text, code: code)
        case .run(var command, let completed):
            do {
                try await command.run()
            } catch {
                finish(text: message(for: error, completed: completed), code: exitCode(for: error))
            }
        }
    }

    /// The outcome of `commandLine` completed by `environment` (for tests; `main()` uses it).
    public static func outcome(commandLine: [String], environment: [String: String]) -> CommandLineOutcome<Self> {
        let options: EnvironmentOptions
        do {
            options = try EnvironmentOptions(for: Self.self)
        } catch {
            return .exit(text: "Error: \(error)", code: .failure)
        }
        var completed = CompletedCommandLine(arguments: commandLine, fromEnvironment: [])
        // A malformed variable is reported once the command line is known not to ask for help.
        var environmentFailure: CommandLineOutcome<Self>?
        do {
            completed = try options.completing(commandLine, from: environment)
        } catch {
            environmentFailure = .exit(text: fullMessage(for: ValidationError("\(error)")), code: .validationFailure)
        }
        do {
            var parsed = try parseAsRoot(completed.arguments)
            if let command = parsed as? Self {
                return environmentFailure ?? .run(command, completed: completed)
            }
            // A built-in command of the argument parser: help. Its run() throws the help text.
            do {
                try parsed.run()
                return .exit(text: "", code: .success)
            } catch {
                let text = fullMessage(for: error)
                let code = exitCode(for: error)
                guard code == .success else { return .exit(text: text, code: code) }
                let help = text.hasSuffix("\n") ? String(text.dropLast()) : text
                return .exit(text: help + "\n\n" + options.helpSection(), code: code)
            }
        } catch {
            return environmentFailure
                ?? .exit(text: message(for: error, completed: completed), code: exitCode(for: error))
        }
    }

    /// The argument parser's message for `error`, followed by the variables behind the options it names.
    private static func message(for error: any Error, completed: CompletedCommandLine) -> String {
        let text = fullMessage(for: error)
        return ([text] + completed.notes(forErrorMessage: text)).joined(separator: "\n")
    }

    private static func finish(text: String, code: ExitCode) -> Never {
        if !text.isEmpty {
            if code == .success {
                print(text)
            } else {
                FileHandle.standardError.write(Data((text + "\n").utf8))
            }
        }
        Foundation.exit(code.rawValue)
    }
}
