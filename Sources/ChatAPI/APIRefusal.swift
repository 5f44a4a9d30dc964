import ChatWire

/// Why the HTTP API refuses a request, with the status and the `{"error", "code"}` body it gets.
public struct APIRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of refusal.
    public enum Reason: Sendable, Equatable {
        /// No API endpoint at the path: 404 `not_found`.
        case notFound(path: String)
        /// The endpoint does not answer the method: 405 `method_not_allowed` with `Allow`.
        case methodNotAllowed(method: String, allowed: [APIMethod])
        /// A state-changing request from a page of an origin not on the allow list: 403 `origin_not_allowed`.
        case originNotAllowed(origin: String)
        /// A state-changing request whose body is not declared as JSON: 415 `unsupported_media_type`.
        case unsupportedMediaType(contentType: String?)
        /// A field or header is missing or out of its limits (400, 401, …): the chat error's code.
        case invalid(ChatError)
    }

    /// What was refused.
    public let reason: Reason

    /// A refusal for `reason`.
    public init(_ reason: Reason) {
        self.reason = reason
    }

    /// The HTTP status code.
    public var status: Int {
        switch reason {
        case .notFound: return 404
        case .methodNotAllowed: return 405
        case .originNotAllowed: return 403
        case .unsupportedMediaType: return 415
        case .invalid(let error): return error.code.httpStatus
        }
    }

    /// The `code` of the JSON body.
    public var code: String {
        switch reason {
        case .notFound: return "not_found"
        case .methodNotAllowed: return "method_not_allowed"
        case .originNotAllowed: return "origin_not_allowed"
        case .unsupportedMediaType: return "unsupported_media_type"
        case .invalid(let error): return error.code.code
        }
    }

    /// The `error` of the JSON body: what went wrong and what to do.
    public var message: String {
        switch reason {
        case .notFound(let path):
            return "No API endpoint at \(path.prefix(utf8Bytes: 120)); see docs/PROTOCOL.md."
        case .methodNotAllowed(let method, let allowed):
            return
                "\(method.prefix(utf8Bytes: 20)) is not allowed here; use \(allowed.map(\.rawValue).joined(separator: " or "))."
        case .originNotAllowed(let origin):
            return
                "Origin '\(origin.prefix(utf8Bytes: 120))' may not change anything here: serve the page from this server or add the origin with --allowed-origin."
        case .unsupportedMediaType(let contentType):
            return
                "Send the body as JSON with 'Content-Type: application/json' (got \(contentType.map { "'\($0.prefix(utf8Bytes: 100))'" } ?? "none"))."
        case .invalid(let error):
            return error.message
        }
    }

    /// The `Allow` header value of a 405, else `nil`.
    public var allowHeader: String? {
        guard case .methodNotAllowed(_, let allowed) = reason else { return nil }
        return allowed.map(\.rawValue).joined(separator: ", ")
    }

    /// Whether the answer carries `WWW-Authenticate: Bearer` (a missing or wrong password).
    public var asksForAuthentication: Bool {
        if case .invalid(let error) = reason { return error.code == .wrongPassword }
        return false
    }

    public var description: String { "\(status) \(code): \(message)" }
}
