import ChatWire

/// A request whose head its ``APIRoute`` accepted: the request itself when the head says it all, else
/// the route's decoder for the body.
public struct APIPendingRequest: Sendable {
    /// Where the request stands.
    enum Stage: Sendable {
        /// Decoded from the head.
        case complete(APIRequest)
        /// Waiting for the body.
        case awaitingBody(APIRoute.BodyDecoder)
    }

    /// The route that accepted the head.
    public let route: APIRoute
    let stage: Stage

    /// The request when the route reads no body, else `nil`.
    public var request: APIRequest? {
        guard case .complete(let request) = stage else { return nil }
        return request
    }

    /// The request once its body is in, or why the body is refused (400, 401).
    public func request(authorization: String?, body: some Collection<UInt8>) throws(APIRefusal) -> APIRequest {
        switch stage {
        case .complete(let request):
            return request
        case .awaitingBody(let decode):
            do throws(ChatError) {
                return try decode(APIBody(authorization: authorization, bytes: body))
            } catch {
                throw APIRefusal(.invalid(error))
            }
        }
    }
}
