/// A refusal with its code and a message a person can act on.
public struct ChatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of refusal this is.
    public let code: ChatErrorCode
    /// What went wrong and what to do about it.
    public let message: String
    /// The broker's limit that refused, for its log line (not sent: a reply carries code and message).
    public let limit: RateLimit?

    /// A refusal of kind `code` explained by `message`; `limit` when one of the broker's limits refused.
    public init(_ code: ChatErrorCode, _ message: String, limit: RateLimit? = nil) {
        self.code = code
        self.message = message
        self.limit = limit
    }

    public var description: String { "\(code.code): \(message)" }
}
