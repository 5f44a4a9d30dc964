import ArgumentParser

/// What to do with a command line completed by the environment: run the command, or print a text
/// (help, or an error with the variables behind it) and exit.
public enum CommandLineOutcome<Command: ParsableCommand> {
    /// Run this parsed command; `completed` tells which options came from the environment.
    case run(Command, completed: CompletedCommandLine)
    /// Print `text` (to standard output when `code` is success, else to standard error) and exit.
    case exit(text: String, code: ExitCode)
}
