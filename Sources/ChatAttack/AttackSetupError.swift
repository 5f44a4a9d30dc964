/// Why the attack could not be prepared.
enum AttackSetupError: Error, CustomStringConvertible {
    /// The server refused a step of the preparation.
    case refused(String)

    var description: String {
        switch self {
        case .refused(let text): "setup refused: \(text)"
        }
    }
}
