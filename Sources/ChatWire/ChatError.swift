/// A refusal with its code and a message a person can act on.
public struct ChatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of refusal this is.
    public let code: ChatErrorCode
    /// What went wrong and what to do about it.
    public let message: String

    /// A refusal of kind `code` explained by `message`.
    public init(_ code: ChatErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.code): \(message)" }
}
