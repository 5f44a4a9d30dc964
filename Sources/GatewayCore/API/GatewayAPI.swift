import ChatWire
import NIOCore
import NIOHTTP1
import SocketIO

/// The HTTP API of a gateway (`/api/...`, `/healthz`): each request becomes one broker command,
/// and the broker's JSON becomes the response body.
public struct GatewayAPI: HTTPAPIHandler {
    private let link: BrokerLink
    private let metricsText: (@Sendable () -> [UInt8])?

    /// An API that forwards to `link` and serves `metricsText()` at `GET /metrics` (404 when nil).
    public init(link: BrokerLink, metricsText: (@Sendable () -> [UInt8])? = nil) {
        self.link = link
        self.metricsText = metricsText
    }

    public func handle(_ request: HTTPAPIRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPAPIResponse> {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        do throws(ChatError) {
            let method = request.method
            if segments == ["healthz"] {
                guard method == .GET || method == .HEAD else { return methodNotAllowed(request, on: eventLoop) }
                return eventLoop.makeSucceededFuture(
                    link.isBrokerReachable
                        ? HTTPAPIResponse(status: .ok, json: #"{"status":"ok"}"#)
                        : HTTPAPIResponse(status: .serviceUnavailable, json: #"{"status":"broker_unavailable"}"#))
            }
            if segments == ["metrics"], let metricsText {
                guard method == .GET || method == .HEAD else { return methodNotAllowed(request, on: eventLoop) }
                var response = HTTPAPIResponse(status: .ok, body: ByteBuffer(bytes: metricsText()))
                response.contentType = "text/plain; version=0.0.4; charset=utf-8"
                return eventLoop.makeSucceededFuture(response)
            }
            if segments == ["api", "rooms"] {
                switch method {
                case .GET:
                    return forward(.listRooms(after: "", limit: 0), request, status: .ok, on: eventLoop)
                case .POST:
                    let body = try Self.jsonObject(request.body)
                    let name = try FieldValidator.name(try Self.string("name", in: body))
                    let room = try Self.optionalString("room", in: body).map { room throws(ChatError) in try FieldValidator.room(room) } ?? ""
                    return forward(.create(name: name, room: room, key: ""), request, status: .created, on: eventLoop)
                default:
                    return methodNotAllowed(request, on: eventLoop)
                }
            }
            if segments.count == 4, segments[0] == "api", segments[1] == "rooms", segments[3] == "messages" {
                guard method == .POST else { return methodNotAllowed(request, on: eventLoop) }
                let room = try FieldValidator.room(segments[2])
                let password = try Self.bearerToken(request.headers)
                let body = try Self.jsonObject(request.body)
                let name = try FieldValidator.name(try Self.string("name", in: body))
                let text = try FieldValidator.text(try Self.string("text", in: body))
                return forward(.post(room: room, password: password, name: name, text: text, key: ""), request, status: .accepted, on: eventLoop)
            }
            return eventLoop.makeSucceededFuture(
                .error(.notFound, code: "not_found", message: "no API endpoint at \(request.path); see docs/PROTOCOL.md"))
        } catch {
            return eventLoop.makeSucceededFuture(Self.response(for: error))
        }
    }

    private func methodNotAllowed(_ request: HTTPAPIRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPAPIResponse> {
        eventLoop.makeSucceededFuture(
            .error(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.path)"))
    }

    private func forward(_ body: WireCommand.Body, _ request: HTTPAPIRequest, status: HTTPResponseStatus, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPAPIResponse> {
        let promise = eventLoop.makePromise(of: HTTPAPIResponse.self)
        link.send(body, connectionID: request.connectionID, client: RemoteAddress.host(of: request.remoteAddress)) { result in
            switch result {
            case .success(let success):
                promise.succeed(HTTPAPIResponse(status: status, body: ByteBuffer(bytes: success.json)))
            case .failure(let error):
                promise.succeed(Self.response(for: error))
            }
        }
        return promise.futureResult
    }

    static func response(for error: ChatError) -> HTTPAPIResponse {
        var headers: HTTPHeaders = [:]
        if error.code == .wrongPassword { headers.add(name: "WWW-Authenticate", value: #"Bearer realm="room""#) }
        return .error(HTTPResponseStatus(statusCode: error.code.httpStatus), code: error.code.code, message: error.message, headers: headers)
    }

    static func bearerToken(_ headers: HTTPHeaders) throws(ChatError) -> String {
        guard let value = headers.first(name: "authorization") else {
            throw ChatError(.wrongPassword, "send the room's password as 'Authorization: Bearer <password>'")
        }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !String(parts[1]).trimmingWhitespace().isEmpty else {
            throw ChatError(.wrongPassword, "the Authorization header must be 'Bearer <password>'")
        }
        return try FieldValidator.password(String(parts[1]).trimmingWhitespace())
    }

    static func jsonObject(_ body: ByteBuffer) throws(ChatError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body.readableBytesView)
        } catch {
            throw ChatError(.badRequest, "the body must be a JSON object: \(error.description)")
        }
        guard let object = value.objectValue else { throw ChatError(.badRequest, "the body must be a JSON object") }
        return object
    }

    static func string(_ key: String, in object: [String: JSONValue]) throws(ChatError) -> String {
        guard let value = object[key] else { throw ChatError(.badRequest, "the body needs a \"\(key)\" field") }
        guard let string = value.stringValue else { throw ChatError(.badRequest, "\"\(key)\" must be a string") }
        return string
    }

    static func optionalString(_ key: String, in object: [String: JSONValue]) throws(ChatError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let string = value.stringValue else { throw ChatError(.badRequest, "\"\(key)\" must be a string") }
        return string.isEmpty ? nil : string
    }
}
