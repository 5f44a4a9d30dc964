import ArgumentParser
import ChatCommandLine
import ChatLogging
import XCTest

/// A command with one option of each kind the executables use, and a few they might add.
private struct SampleCommand: EnvironmentConfigurableCommand {
    static let configuration = CommandConfiguration(commandName: "sample")

    @Option(help: "A port.")
    var port = 8080

    @Option(help: "Repeatable, like --broker-commands.")
    var brokerCommands: [String] = []

    @Flag(help: "A plain flag, like --listen-once-broker-answers.")
    var listenOnceBrokerAnswers = false

    @Flag(inversion: .prefixedNo, help: "An inverted flag.")
    var color = true

    @Flag(name: .shortAndLong, help: "A counted flag.")
    var verbose: Int

    @Option(name: .customLong("id"), help: "A custom long name.")
    var gatewayID: String?

    @Option(help: "An enumeration.")
    var logFormat: LogFormat = .text

    @Option(help: .hidden)
    var hiddenKnob = 1

    @Argument(help: "Positional arguments take no variable.")
    var rest: [String] = []

    func validate() throws {
        guard port >= 1 else { throw ValidationError("--port must be at least 1") }
    }

    func run() async throws {}
}

final class EnvironmentOptionsTests: XCTestCase {
    /// The variables come from the command type itself: every named option, by its long name.
    func testEveryOptionGetsAVariableNamedAfterItsLongName() throws {
        let options = try EnvironmentOptions(for: SampleCommand.self).options
        XCTAssertEqual(
            options.map(\.variable),
            [
                "CHAT_PORT", "CHAT_BROKER_COMMANDS", "CHAT_LISTEN_ONCE_BROKER_ANSWERS", "CHAT_COLOR", "CHAT_VERBOSE",
                "CHAT_ID", "CHAT_LOG_FORMAT", "CHAT_HIDDEN_KNOB",
            ]
        )
        XCTAssertEqual(options.map(\.kind), [.value, .repeatable, .flag, .flag, .countedFlag, .value, .value, .value])
        XCTAssertEqual(options.map(\.name).first, "--port")
        XCTAssertEqual(options.last?.isVisible, false)
    }

    func testTheEnvironmentSetsWhatTheCommandLineDoesNotGive() throws {
        let command = try parse(
            [],
            [
                "CHAT_PORT": "9000", "CHAT_BROKER_COMMANDS": "tcp://a:1, tcp://b:1",
                "CHAT_LISTEN_ONCE_BROKER_ANSWERS": "yes",
                "CHAT_ID": "gw-7", "CHAT_LOG_FORMAT": "json", "CHAT_HIDDEN_KNOB": "3", "CHAT_UNRELATED": "x",
            ]
        )
        XCTAssertEqual(command.port, 9000)
        XCTAssertEqual(command.brokerCommands, ["tcp://a:1", "tcp://b:1"])
        XCTAssertTrue(command.listenOnceBrokerAnswers)
        XCTAssertEqual(command.gatewayID, "gw-7")
        XCTAssertEqual(command.logFormat, .json)
        XCTAssertEqual(command.hiddenKnob, 3)
    }

    /// An option on the command line ignores its variable; a repeatable one is never mixed from both.
    func testTheCommandLineWins() throws {
        let environment = [
            "CHAT_PORT": "9000", "CHAT_BROKER_COMMANDS": "tcp://a:1,tcp://b:1", "CHAT_COLOR": "no", "CHAT_ID": "env",
        ]
        let command = try parse(["--port", "1", "--broker-commands", "tcp://c:1", "--color", "--id=line"], environment)
        XCTAssertEqual(command.port, 1)
        XCTAssertEqual(command.brokerCommands, ["tcp://c:1"])
        XCTAssertTrue(command.color)
        XCTAssertEqual(command.gatewayID, "line")
        // Options after a `--` are positional values, not options the command line gives.
        XCTAssertEqual(try parse(["--", "--port"], environment).port, 9000)
    }

    func testFlagWordsAndCounts() throws {
        for word in ["1", "true", "TRUE", "yes", " Yes "] {
            XCTAssertTrue(try parse([], ["CHAT_LISTEN_ONCE_BROKER_ANSWERS": word]).listenOnceBrokerAnswers, word)
        }
        for word in ["0", "false", "no"] {
            XCTAssertFalse(try parse([], ["CHAT_LISTEN_ONCE_BROKER_ANSWERS": word]).listenOnceBrokerAnswers, word)
        }
        XCTAssertFalse(try parse([], ["CHAT_COLOR": "0"]).color, "an inverted flag is turned off by its --no- form")
        XCTAssertTrue(try parse([], ["CHAT_COLOR": "1"]).color)
        XCTAssertEqual(try parse([], ["CHAT_VERBOSE": "3"]).verbose, 3)
        XCTAssertEqual(try parse(["-v"], ["CHAT_VERBOSE": "3"]).verbose, 1, "the short name counts as given")
    }

    func testAnEmptyVariableIsUnsetAndAValueMayStartWithADash() throws {
        XCTAssertEqual(try parse([], ["CHAT_PORT": ""]).port, 8080)
        XCTAssertEqual(try parse([], ["CHAT_ID": "-x"]).gatewayID, "-x")
        XCTAssertEqual(try parse([], ["CHAT_BROKER_COMMANDS": " , "]).brokerCommands, [])
    }

    func testAMalformedFlagValueNamesTheVariable() {
        let text = failure([], ["CHAT_LISTEN_ONCE_BROKER_ANSWERS": "maybe"])
        XCTAssertTrue(text.contains("CHAT_LISTEN_ONCE_BROKER_ANSWERS=\"maybe\""), text)
        XCTAssertTrue(text.contains("--listen-once-broker-answers"), text)
    }

    /// A value the option's type refuses, or one its validation refuses, is reported by the argument
    /// parser with the option's name; a note names the variable behind it.
    func testAMalformedValueNamesTheVariable() {
        for (value, phrase) in [("abc", "'abc' is invalid"), ("0", "--port must be at least 1")] {
            let text = failure([], ["CHAT_PORT": value, "CHAT_ID": "fine"])
            XCTAssertTrue(text.contains(phrase), text)
            XCTAssertTrue(text.contains("CHAT_PORT"), text)
            XCTAssertFalse(text.contains("CHAT_ID"), "only the variables of the options the error names: \(text)")
        }
        XCTAssertFalse(failure(["--port", "0"], ["CHAT_ID": "fine"]).contains("CHAT_"), "no variable was involved")
    }

    func testHelpEndsWithTheVariables() {
        for environment in [[:], ["CHAT_LISTEN_ONCE_BROKER_ANSWERS": "maybe"]] {
            guard
                case .exit(let text, let code) = SampleCommand.outcome(
                    commandLine: ["--help"],
                    environment: environment
                )
            else {
                return XCTFail("--help must not run the command")
            }
            XCTAssertEqual(code, .success)
            XCTAssertTrue(text.contains("OPTIONS:"), text)
            XCTAssertTrue(text.contains("ENVIRONMENT:"), text)
            let rows = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            XCTAssertTrue(rows.contains(["CHAT_PORT", "--port"]), text)
            XCTAssertTrue(rows.contains(["CHAT_BROKER_COMMANDS", "--broker-commands", "(comma-separated)"]), text)
            XCTAssertTrue(
                rows.contains(["CHAT_LISTEN_ONCE_BROKER_ANSWERS", "--listen-once-broker-answers", "(flag)"]),
                text
            )
            XCTAssertFalse(text.contains("CHAT_HIDDEN_KNOB"), "hidden options stay hidden")
            XCTAssertFalse(text.contains("CHAT_NO_COLOR"), "one variable per inverted flag")
        }
    }

    func testLogFormatParses() throws {
        XCTAssertEqual(try parse(["--log-format", "json"], [:]).logFormat, .json)
        XCTAssertTrue(failure(["--log-format", "xml"], [:]).contains("'xml' is invalid"))
    }

    // MARK: - Helpers

    private func parse(
        _ commandLine: [String],
        _ environment: [String: String],
        line: UInt = #line
    ) throws -> SampleCommand {
        switch SampleCommand.outcome(commandLine: commandLine, environment: environment) {
        case .run(let command, _):
            return command
        case .exit(let text, _):
            XCTFail("expected a command to run, got: \(text)", line: line)
            throw CancellationError()
        }
    }

    private func failure(_ commandLine: [String], _ environment: [String: String], line: UInt = #line) -> String {
        guard case .exit(let text, let code) = SampleCommand.outcome(commandLine: commandLine, environment: environment)
        else {
            XCTFail("expected an error", line: line)
            return ""
        }
        XCTAssertNotEqual(code, .success, line: line)
        return text
    }
}
