/// Tiny JSON text helpers for the transport's own bodies (error objects, the Engine.IO open packet).
enum JSONText {
    /// `value` as a quoted, escaped JSON string.
    static func quoted(_ value: String) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }

    /// `{"error":message,"code":code}`.
    static func errorObject(message: String, code: String) -> String {
        "{\"error\":\(quoted(message)),\"code\":\(quoted(code))}"
    }
}
