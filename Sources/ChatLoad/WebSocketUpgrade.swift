import Foundation
import NIOCore

/// The client side of the WebSocket upgrade to a gateway's Socket.IO endpoint
/// (`/socket.io/?EIO=4&transport=websocket`).
public enum WebSocketUpgrade {
    /// What the server's response head said so far.
    public enum Response: Equatable, Sendable {
        /// The head is not complete yet: read more.
        case incomplete
        /// `101 Switching Protocols`: WebSocket frames follow.
        case switched
        /// Any other status; `status` is the response's first line.
        case refused(status: String)
    }

    /// The upgrade request for `host:port`, with a fresh random key.
    public static func request(host: String, port: Int) -> String {
        var key: [UInt8] = []
        for _ in 0..<16 { key.append(.random(in: 0...255)) }
        return "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            + "Host: \(host):\(port)\r\n"
            + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Data(key).base64EncodedString())\r\nSec-WebSocket-Version: 13\r\n\r\n"
    }

    /// Takes the response head off `buffer` once it is complete (leaving `buffer` untouched before).
    public static func readResponse(from buffer: inout ByteBuffer) -> Response {
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return .incomplete }
        let head = buffer.readString(length: end.upperBound - view.startIndex) ?? ""
        guard head.hasPrefix("HTTP/1.1 101") else {
            return .refused(status: head.split(separator: "\r\n").first.map(String.init) ?? head)
        }
        return .switched
    }

    /// The status code of a refused response's first line (`HTTP/1.1 429 Too Many Requests` → 429), or 0.
    public static func statusCode(of status: String) -> Int {
        let parts = status.split(separator: " ")
        return parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
    }
}
