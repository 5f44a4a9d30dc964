/// Why a ZAP handler refused a connection (ZAP, ZeroMQ RFC 27).
public enum ZAPRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer frames than a ZAP request has.
    case malformedRequest
    /// A ZAP version other than 1.0.
    case unsupportedVersion
    /// A mechanism other than CURVE (a peer without keys, or with PLAIN).
    case notCurve(mechanism: String)
    /// A ZAP domain no allow-list is kept for.
    case unknownDomain(String)
    /// A CURVE client key that is not in the domain's allow-list (or no longer, after a reload).
    case unknownKey
    /// A routing id the client's key is not bound to (``RoutingIDBinding``): another key's name.
    case routingIDNotBound(name: String)
    /// A message without the `User-Id` of a ZAP-admitted connection, on a socket that needs one.
    case missingUserID

    /// The ZAP status code: 500 for a request the handler cannot read, 400 for a refused peer.
    var statusCode: String {
        switch self {
        case .malformedRequest, .unsupportedVersion: return "500"
        case .notCurve, .unknownDomain, .unknownKey, .routingIDNotBound, .missingUserID: return "400"
        }
    }

    public var description: String {
        switch self {
        case .malformedRequest: return "malformed ZAP request"
        case .unsupportedVersion: return "unsupported ZAP version"
        case .notCurve(let mechanism): return "mechanism \(mechanism.isEmpty ? "?" : mechanism), not CURVE"
        case .unknownDomain(let domain): return "unknown ZAP domain '\(domain)'"
        case .unknownKey: return "public key not in the allow-list"
        case .routingIDNotBound(let name):
            return "routing id not bound to the key \(name): it must be \(name) or start with \(name)/"
        case .missingUserID: return "no User-Id: the connection was not admitted by the ZAP handler"
        }
    }
}
