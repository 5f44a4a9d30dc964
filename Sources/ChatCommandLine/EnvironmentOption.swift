import Foundation

/// One option of a command that an environment variable can set, e.g. `CHAT_PORT` for `--port`.
public struct EnvironmentOption: Equatable, Sendable {
    /// How the variable's value becomes arguments.
    public enum Kind: Equatable, Sendable {
        /// An option with one value: `CHAT_PORT=8080` → `--port=8080`.
        case value
        /// A repeatable option: `CHAT_TRUSTED_PROXY=10.0.0.2,10.0.0.3` → one `--trusted-proxy=…` per item.
        case repeatable
        /// A flag: `1`, `true` or `yes` give it; `0`, `false` or `no` leave it off (or give its
        /// `--no-…` form when it has one).
        case flag
        /// A flag that counts its repetitions: a number, or the words of ``flag``.
        case countedFlag
    }

    /// The variable's name, e.g. `CHAT_BROKER_COMMANDS`.
    public let variable: String
    /// The option as typed, e.g. `--broker-commands`.
    public let name: String
    public let kind: Kind
    /// Whether `--help` lists the option.
    public let isVisible: Bool
    /// Every spelling of the option on a command line (`--port`, `-p`, `--no-color`), to tell
    /// whether the command line gives it.
    let spellings: [String]
    /// For a flag with an inversion, the spelling that turns it off (`--no-color`).
    let offSpelling: String?

    init(variable: String, name: String, kind: Kind, isVisible: Bool, spellings: [String], offSpelling: String? = nil) {
        self.variable = variable
        self.name = name
        self.kind = kind
        self.isVisible = isVisible
        self.spellings = spellings
        self.offSpelling = offSpelling
    }

    /// Whether `commandLine` gives the option (in any spelling, as `--name value` or `--name=value`),
    /// before a `--` terminator.
    func isGiven(in commandLine: [String]) -> Bool {
        for argument in commandLine {
            if argument == "--" { return false }
            for spelling in spellings where argument == spelling || argument.hasPrefix(spelling + "=") {
                return true
            }
        }
        return false
    }

    /// The arguments that stand for the variable's `value` (not empty: an empty variable is unset).
    /// Values are attached with `=`, so a value starting with `-` stays a value.
    func arguments(for value: String) throws(EnvironmentValueError) -> [String] {
        switch kind {
        case .value:
            return ["\(name)=\(value)"]
        case .repeatable:
            return value.split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
                .map { "\(name)=\($0)" }
        case .flag:
            guard let on = Self.switchValue(value) else {
                throw EnvironmentValueError(variable: variable, value: value, option: name, expected: .flag)
            }
            return on ? [name] : offSpelling.map { [$0] } ?? []
        case .countedFlag:
            if let count = Int(value.trimmingCharacters(in: .whitespaces)), (0...64).contains(count) {
                return Array(repeating: name, count: count)
            }
            guard let on = Self.switchValue(value) else {
                throw EnvironmentValueError(variable: variable, value: value, option: name, expected: .count)
            }
            return on ? [name] : []
        }
    }

    /// True for 1/true/yes, false for 0/false/no (any case, spaces around ignored), else nil.
    private static func switchValue(_ value: String) -> Bool? {
        switch value.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "true", "yes": true
        case "0", "false", "no": false
        default: nil
        }
    }
}
