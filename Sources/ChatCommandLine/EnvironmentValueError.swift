/// A `CHAT_…` environment variable whose value is not one its option takes.
public struct EnvironmentValueError: Error, Equatable, CustomStringConvertible {
    /// What the option takes.
    public enum Expectation: Equatable, Sendable {
        /// 1/true/yes or 0/false/no.
        case flag
        /// A number of repetitions, or the words of ``flag``.
        case count
    }

    /// The variable, e.g. `CHAT_LISTEN_ONCE_BROKER_ANSWERS`.
    public let variable: String
    public let value: String
    /// The option it sets, e.g. `--listen-once-broker-answers`.
    public let option: String
    public let expected: Expectation

    public var description: String {
        let takes =
            switch expected {
            case .flag: "1, true or yes (on) or 0, false or no (off)"
            case .count: "a number from 0 to 64, or 1, true, yes, 0, false or no"
            }
        return
            "the environment variable \(variable)=\"\(value)\" sets the flag \(option), which takes \(takes); fix or unset \(variable)"
    }
}
