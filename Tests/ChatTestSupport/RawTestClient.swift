import Foundation
import NIOCore
import NIOWebSocket

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately small blocking TCP client, independent of NIO's server code, that speaks just
/// enough HTTP/1.1 and WebSocket to test the gateway from the outside.
public final class RawTestClient {
    /// One HTTP response as read from the wire.
    public struct HTTPResponse: Sendable {
        /// The status code, e.g. 200.
        public var status: Int
        /// Header values by lower-cased name (the last one wins).
        public var headers: [String: String]
        /// The body as UTF-8 text.
        public var body: String
    }

    /// One WebSocket frame from the server.
    public struct Frame: Sendable {
        /// The frame's opcode.
        public var opcode: WebSocketOpcode
        /// Whether the FIN bit was set.
        public var fin: Bool
        /// The (unmasked) payload.
        public var payload: [UInt8]
    }

    /// Why reading failed.
    public enum ClientError: Error {
        /// `connect(2)` failed with this errno.
        case connectFailed(Int32)
        /// The server closed the TCP connection.
        case closedByPeer
        /// Nothing (complete) arrived within the timeout.
        case timeout
        /// The bytes were not what the protocol allows.
        case malformed(String)
    }

    private var fd: Int32
    private var pending: [UInt8] = []
    /// How long a blocking read waits unless a call gives its own timeout.
    public var timeout: TimeInterval

    /// Connects to `127.0.0.1:port`, from `sourceAddress` when given (any of 127/8 works on Linux, so a
    /// test can play several client addresses); reads wait at most `timeoutSeconds` unless told otherwise.
    public init(port: Int, timeoutSeconds: Int = 5, sourceAddress: String? = nil) throws {
        timeout = TimeInterval(timeoutSeconds)
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        if let sourceAddress {
            var source = sockaddr_in()
            source.sin_family = sa_family_t(AF_INET)
            source.sin_addr.s_addr = inet_addr(sourceAddress)
            let bound = withUnsafePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                let error = errno
                close(fd)
                throw ClientError.connectFailed(error)
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            close(fd)
            throw ClientError.connectFailed(error)
        }
    }

    deinit {
        disconnect()
    }

    /// Closes the TCP connection at once, without any WebSocket close frame (like a killed browser tab).
    public func disconnect() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    // MARK: Writing

    /// Writes `bytes` (ignores errors: a closed peer shows up on the next read).
    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count, fd >= 0 {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// Writes `text` as UTF-8.
    public func send(_ text: String) {
        send(Array(text.utf8))
    }

    /// Writes the readable bytes of `buffer`.
    public func send(_ buffer: ByteBuffer) {
        send(Array(buffer.readableBytesView))
    }

    /// Sends one masked WebSocket text frame.
    public func sendText(_ text: String) {
        send(clientFrame(.text, text))
    }

    // MARK: Reading

    /// Reads at least one more chunk into `pending`, waiting until `deadline` at the latest.
    private func fill(until deadline: Date) throws {
        guard fd >= 0 else { throw ClientError.closedByPeer }
        let remaining = max(deadline.timeIntervalSinceNow, 0.001)
        var wait = timeval(tv_sec: Int(remaining), tv_usec: Int((remaining - remaining.rounded(.down)) * 1_000_000))
        if wait.tv_sec == 0 && wait.tv_usec == 0 { wait.tv_usec = 1000 }  // zero would mean "block forever"
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { throw ClientError.closedByPeer }
        if count < 0 { throw errno == EAGAIN || errno == EWOULDBLOCK ? ClientError.timeout : ClientError.closedByPeer }
        pending.append(contentsOf: chunk[..<count])
    }

    private func take(_ count: Int, until deadline: Date) throws -> [UInt8] {
        while pending.count < count { try fill(until: deadline) }
        let bytes = Array(pending[..<count])
        pending.removeFirst(count)
        return bytes
    }

    /// True when the server closed the connection (reads EOF) within `timeout` seconds (default: `self.timeout`).
    public func waitForEOF(timeout: TimeInterval? = nil) -> Bool {
        let deadline = Date().addingTimeInterval(timeout ?? self.timeout)
        while true {
            do { try fill(until: deadline) } catch ClientError.closedByPeer { return true } catch { return false }
            pending.removeAll()
        }
    }

    /// Reads one response; `hasBody: false` for answers to HEAD (Content-Length without a body).
    public func readHTTPResponse(hasBody: Bool = true) throws -> HTTPResponse {
        let deadline = Date().addingTimeInterval(timeout)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var end: Int?
        while end == nil {
            if pending.count >= 4 {
                end = (0...(pending.count - 4)).first { Array(pending[$0..<($0 + 4)]) == separator }
            }
            if end == nil { try fill(until: deadline) }
        }
        let headText = String(decoding: try take((end ?? 0) + 4, until: deadline), as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError.malformed(headText) }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        let length = hasBody ? headers["content-length"].flatMap(Int.init) ?? 0 : 0
        let body = try take(length, until: deadline)
        return HTTPResponse(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
    }

    /// Sends an HTTP/1.1 request and reads the response.
    public func request(
        _ method: String,
        _ path: String,
        headers: [String: String] = [:],
        body: String = ""
    ) throws -> HTTPResponse {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
        send(text + "\r\n" + body)
        return try readHTTPResponse(hasBody: method != "HEAD")
    }

    /// Sends the WebSocket handshake and reads the response (101 on success).
    public func upgrade(
        path: String = "/socket.io/?EIO=4&transport=websocket",
        host: String = "127.0.0.1",
        origin: String? = nil
    ) throws -> HTTPResponse {
        var text = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let origin { text += "Origin: \(origin)\r\n" }
        send(text + "\r\n")
        return try readHTTPResponse()
    }

    /// Reads one frame (the server never masks), waiting at most `self.timeout`.
    public func readFrame() throws -> Frame {
        guard let frame = try readFrame(timeout: timeout) else { throw ClientError.timeout }
        return frame
    }

    /// Reads one frame, or returns nil when no complete frame arrived within `timeout` seconds.
    /// A partly received frame stays buffered for the next call.
    public func readFrame(timeout: TimeInterval) throws -> Frame? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let frame = try takeBufferedFrame() { return frame }
            do {
                try fill(until: deadline)
            } catch ClientError.timeout {
                if Date() >= deadline { return nil }
            }
        }
    }

    /// Removes and returns the first complete frame in `pending`, if there is one.
    private func takeBufferedFrame() throws -> Frame? {
        guard pending.count >= 2 else { return nil }
        guard let opcode = WebSocketOpcode(encodedWebSocketOpcode: pending[0] & 0x0F) else {
            throw ClientError.malformed("opcode \(pending[0])")
        }
        guard pending[1] & 0x80 == 0 else { throw ClientError.malformed("masked server frame") }
        var headerLength = 2
        var length = Int(pending[1] & 0x7F)
        if length == 126 {
            headerLength = 4
            guard pending.count >= headerLength else { return nil }
            length = pending[2..<4].reduce(0) { $0 << 8 | Int($1) }
        } else if length == 127 {
            headerLength = 10
            guard pending.count >= headerLength else { return nil }
            length = pending[2..<10].reduce(0) { $0 << 8 | Int($1) }
        }
        guard pending.count >= headerLength + length else { return nil }
        let frame = Frame(
            opcode: opcode,
            fin: pending[0] & 0x80 != 0,
            payload: Array(pending[headerLength..<(headerLength + length)])
        )
        pending.removeFirst(headerLength + length)
        return frame
    }

    /// Reads one frame, which must be a text frame, and returns its text.
    public func readText() throws -> String {
        let frame = try readFrame()
        guard frame.opcode == .text else { throw ClientError.malformed("expected text, got \(frame.opcode)") }
        return String(decoding: frame.payload, as: UTF8.self)
    }
}
