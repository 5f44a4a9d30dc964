import ChatWire
import SocketIO

/// What an ``APIRoute`` reads once the body is in: the body's JSON fields and the `Authorization` header.
public struct APIBody: Sendable {
    /// The `Authorization` header, if sent.
    public var authorization: String?
    /// The body bytes.
    public var bytes: [UInt8]

    /// A body of `bytes` sent with `authorization`.
    public init(authorization: String?, bytes: some Collection<UInt8>) {
        self.authorization = authorization
        self.bytes = Array(bytes)
    }

    /// The password of `Authorization: Bearer <password>` (401 when missing or malformed).
    public func bearerToken() throws(ChatError) -> String {
        guard let value = authorization else {
            throw ChatError(.wrongPassword, "send the room's password as 'Authorization: Bearer <password>'")
        }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !String(parts[1]).trimmingWhitespace().isEmpty else {
            throw ChatError(.wrongPassword, "the Authorization header must be 'Bearer <password>'")
        }
        return try FieldValidator.password(String(parts[1]).trimmingWhitespace())
    }

    /// The body as a JSON object (400 when it is not one).
    public func object() throws(ChatError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw ChatError(.badRequest, "the body must be a JSON object: \(error.description)")
        }
        guard let object = value.objectValue else { throw ChatError(.badRequest, "the body must be a JSON object") }
        return object
    }

    /// The string field `key` of `object` (400 when missing or not a string).
    public static func string(_ key: String, in object: [String: JSONValue]) throws(ChatError) -> String {
        guard let value = object[key] else { throw ChatError(.badRequest, "the body needs a \"\(key)\" field") }
        guard let string = value.stringValue else { throw ChatError(.badRequest, "\"\(key)\" must be a string") }
        return string
    }

    /// The optional string field `key` of `object`: `nil` when missing, null or empty.
    public static func optionalString(_ key: String, in object: [String: JSONValue]) throws(ChatError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let string = value.stringValue else { throw ChatError(.badRequest, "\"\(key)\" must be a string") }
        return string.isEmpty ? nil : string
    }

    /// The optional idempotency key `id`: 1–64 bytes (``FieldValidator/key(_:)``).
    public static func idempotencyKey(in object: [String: JSONValue]) throws(ChatError) -> String? {
        guard let value = object["id"], !value.isNull else { return nil }
        guard let key = value.stringValue, !key.isEmpty else {
            throw ChatError(.badRequest, "\"id\" must be a non-empty string")
        }
        return try FieldValidator.key(key)
    }
}
