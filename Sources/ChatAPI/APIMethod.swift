/// The HTTP methods the API distinguishes.
public enum APIMethod: String, Sendable, Equatable, CaseIterable {
    case get = "GET"
    case head = "HEAD"
    case post = "POST"
    case options = "OPTIONS"

    /// The method named `name` (case-sensitive, as HTTP methods are), or `nil` for any other.
    public init?(name: some StringProtocol) {
        self.init(rawValue: String(name))
    }

    /// Whether requests with this method may change state (and so get the Content-Type and
    /// Origin checks); a method the API does not know counts as state-changing.
    public static func isStateChanging(_ name: some StringProtocol) -> Bool {
        switch APIMethod(name: name) {
        case .get, .head, .options: return false
        case .post, nil: return true
        }
    }
}
