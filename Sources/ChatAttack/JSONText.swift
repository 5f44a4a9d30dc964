import SocketIO

/// JSON texts of the attack's event arguments, written with the server's own ``JSONWriter``.
enum JSONText {
    /// A JSON object of string members, in the order given.
    static func object(_ members: KeyValuePairs<String, String>) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        for (key, value) in members {
            writer.key(key)
            writer.string(value)
        }
        writer.endObject()
        return writer.text
    }
}
