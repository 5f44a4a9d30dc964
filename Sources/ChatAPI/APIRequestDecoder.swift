import ChatWire
import SocketIO

/// Decodes HTTP API requests: the route from method and path, the pagination query, the checks a
/// state-changing request must pass before its body is read, and the body's fields.
///
/// Plain values in, plain values out (no NIO), so it can be unit-tested and fuzzed alone. The
/// gateway calls ``endpoint(method:path:query:contentType:origin:isAllowedOrigin:)`` on the request
/// head, then ``request(for:authorization:body:)`` once the body is in.
public enum APIRequestDecoder {
    /// Decodes a whole request at once (head checks, then body); a path outside the API is 404.
    public static func decode(
        method: String,
        path: some StringProtocol,
        query: some StringProtocol,
        contentType: String?,
        origin: String?,
        authorization: String?,
        body: some Collection<UInt8>,
        isAllowedOrigin: (String) -> Bool
    ) throws(APIRefusal) -> APIRequest {
        guard
            let endpoint = try endpoint(
                method: method,
                path: path,
                query: query,
                contentType: contentType,
                origin: origin,
                isAllowedOrigin: isAllowedOrigin
            )
        else { throw APIRefusal(.notFound(path: String(path))) }
        return try request(for: endpoint, authorization: authorization, body: body)
    }

    /// The endpoint of a request head, or why it is refused: 404 (no such path), 405 (method),
    /// 400 (query or room segment), and for state-changing methods 403 (a present `Origin` that
    /// `isAllowedOrigin` refuses) and 415 (`Content-Type` not `application/json`), in that order.
    /// `nil` when `path` is not an API path at all.
    public static func endpoint(
        method: String,
        path: some StringProtocol,
        query: some StringProtocol,
        contentType: String?,
        origin: String?,
        isAllowedOrigin: (String) -> Bool
    ) throws(APIRefusal) -> APIEndpoint? {
        guard let route = APIRoute(path: path) else { return nil }
        guard route != .unknown else { throw APIRefusal(.notFound(path: String(path))) }
        guard let known = APIMethod(name: method), route.allowedMethods.contains(known) else {
            throw APIRefusal(.methodNotAllowed(method: method, allowed: route.allowedMethods))
        }
        if APIMethod.isStateChanging(method) {
            if let origin, !isAllowedOrigin(origin) { throw APIRefusal(.originNotAllowed(origin: origin)) }
            guard isJSON(contentType: contentType) else {
                throw APIRefusal(.unsupportedMediaType(contentType: contentType))
            }
        }
        do throws(ChatError) {
            switch route {
            case .health: return .health
            case .metrics: return .metrics
            case .status(let format): return .status(format)
            case .rooms: return known == .post ? .createRoom : .listRooms(try RoomsPage(query: query))
            case .roomMessages(let room): return .postMessage(room: try FieldValidator.room(room))
            case .unknown: break
            }
        } catch {
            throw APIRefusal(.invalid(error))
        }
        throw APIRefusal(.notFound(path: String(path)))
    }

    /// The request for `endpoint` with its body's fields, or why they are refused (400, 401).
    public static func request(
        for endpoint: APIEndpoint,
        authorization: String?,
        body: some Collection<UInt8>
    ) throws(APIRefusal) -> APIRequest {
        do throws(ChatError) {
            switch endpoint {
            case .health: return .health
            case .metrics: return .metrics
            case .status(let format): return .status(format)
            case .listRooms(let page): return .listRooms(page)
            case .createRoom:
                let object = try jsonObject(body)
                let name = try FieldValidator.name(try string("name", in: object))
                let room = try optionalString("room", in: object).map { room throws(ChatError) in
                    try FieldValidator.room(room)
                }
                return .createRoom(name: name, room: room, id: try idempotencyKey(in: object))
            case .postMessage(let room):
                let password = try bearerToken(authorization)
                let object = try jsonObject(body)
                let name = try FieldValidator.name(try string("name", in: object))
                let text = try FieldValidator.text(try string("text", in: object))
                return .postMessage(
                    room: room,
                    password: password,
                    name: name,
                    text: text,
                    id: try idempotencyKey(in: object)
                )
            }
        } catch {
            throw APIRefusal(.invalid(error))
        }
    }

    /// Whether a `Content-Type` value is `application/json`, parameters (e.g. `charset`) allowed.
    public static func isJSON(contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return mediaType.trimmed().lowercased() == "application/json"
    }

    /// The password of `Authorization: Bearer <password>`.
    static func bearerToken(_ value: String?) throws(ChatError) -> String {
        guard let value else {
            throw ChatError(.wrongPassword, "send the room's password as 'Authorization: Bearer <password>'")
        }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !String(parts[1]).trimmingWhitespace().isEmpty else {
            throw ChatError(.wrongPassword, "the Authorization header must be 'Bearer <password>'")
        }
        return try FieldValidator.password(String(parts[1]).trimmingWhitespace())
    }

    static func jsonObject(_ body: some Collection<UInt8>) throws(ChatError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body)
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

    /// The optional idempotency key `id`: 1–64 bytes (``FieldValidator/key(_:)``).
    static func idempotencyKey(in object: [String: JSONValue]) throws(ChatError) -> String? {
        guard let value = object["id"], !value.isNull else { return nil }
        guard let key = value.stringValue, !key.isEmpty else {
            throw ChatError(.badRequest, "\"id\" must be a non-empty string")
        }
        return try FieldValidator.key(key)
    }
}
