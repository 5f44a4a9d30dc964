/// The part of swift-argument-parser's `--experimental-dump-help` JSON (its `ToolInfoV0`) that
/// ``EnvironmentOptions`` reads: each argument's kind, names and whether it repeats. Unknown fields
/// are ignored, so later versions of the dump decode as long as these fields keep their meaning.
struct ArgumentDump: Decodable {
    struct Command: Decodable {
        var arguments: [Argument]?
    }

    struct Argument: Decodable {
        enum Kind: String, Decodable {
            case positional, option, flag
        }

        struct Name: Decodable, Equatable {
            enum Kind: String, Decodable {
                case long, short, longWithSingleDash
            }

            var kind: Kind
            var name: String

            /// The name as typed on a command line: `--port`, `-p`, `-port`.
            var spelling: String {
                switch kind {
                case .long: "--" + name
                case .short, .longWithSingleDash: "-" + name
                }
            }
        }

        var kind: Kind
        var names: [Name]?
        var preferredName: Name?
        var isRepeating: Bool
        var shouldDisplay: Bool

        /// The long name an environment variable is derived from: the preferred one if it is long.
        var longName: String? {
            if let preferredName, preferredName.kind == .long { return preferredName.name }
            return names?.first { $0.kind == .long }?.name
        }
    }

    var command: Command
}
