import Foundation
import NIOCore
import NIOWebSocket
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately small blocking TCP client, independent of NIO's server code, that speaks just
/// enough HTTP/1.1 and WebSocket to test the gateway from the outside.
final class RawTestClient {
    struct HTTPResponse {
        var status: Int
        var headers: [String: String]  // lower-cased names
        var body: String
    }

    enum ClientError: Error {
        case connectFailed(Int32)
        case closedByPeer
        case timeout
        case malformed(String)
    }

    private let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int, timeoutSeconds: Int = 5) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
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
            close(fd)
            throw ClientError.connectFailed(errno)
        }
    }

    deinit {
        close(fd)
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    func send(_ text: String) {
        send(Array(text.utf8))
    }

    func send(_ buffer: ByteBuffer) {
        send(Array(buffer.readableBytesView))
    }

    /// Reads at least one more chunk into `pending`.
    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { throw ClientError.closedByPeer }
        if count < 0 { throw errno == EAGAIN || errno == EWOULDBLOCK ? ClientError.timeout : ClientError.closedByPeer }
        pending.append(contentsOf: chunk[..<count])
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while pending.count < count { try fill() }
        let bytes = Array(pending[..<count])
        pending.removeFirst(count)
        return bytes
    }

    /// True when the server closed the connection (reads EOF) within the timeout.
    func waitForEOF() -> Bool {
        while true {
            do { try fill() } catch ClientError.closedByPeer { return true } catch { return false }
            pending.removeAll()
        }
    }

    /// Reads one response; `hasBody: false` for answers to HEAD (Content-Length without a body).
    func readHTTPResponse(hasBody: Bool = true) throws -> HTTPResponse {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var end: Int?
        while end == nil {
            if pending.count >= 4 {
                end = (0...(pending.count - 4)).first { Array(pending[$0..<($0 + 4)]) == separator }
            }
            if end == nil { try fill() }
        }
        let headText = String(decoding: try take(end! + 4), as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError.malformed(headText) }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = hasBody ? headers["content-length"].flatMap(Int.init) ?? 0 : 0
        return HTTPResponse(status: status, headers: headers, body: String(decoding: try take(length), as: UTF8.self))
    }

    /// Sends an HTTP/1.1 request and reads the response.
    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: String = "") throws -> HTTPResponse {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
        send(text + "\r\n" + body)
        return try readHTTPResponse(hasBody: method != "HEAD")
    }

    /// Sends the WebSocket handshake and reads the response (101 on success).
    func upgrade(
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

    /// Reads one frame: opcode and payload (the server never masks).
    func readFrame() throws -> (opcode: WebSocketOpcode, payload: [UInt8]) {
        let header = try take(2)
        guard let opcode = WebSocketOpcode(encodedWebSocketOpcode: header[0] & 0x0F) else {
            throw ClientError.malformed("opcode \(header[0])")
        }
        guard header[1] & 0x80 == 0 else { throw ClientError.malformed("masked server frame") }
        var length = Int(header[1] & 0x7F)
        if length == 126 {
            length = try take(2).reduce(0) { $0 << 8 | Int($1) }
        } else if length == 127 {
            length = try take(8).reduce(0) { $0 << 8 | Int($1) }
        }
        return (opcode, try take(length))
    }

    /// Reads frames until a text frame arrives (answering nothing) and returns its text.
    func readText() throws -> String {
        let frame = try readFrame()
        guard frame.opcode == .text else { throw ClientError.malformed("expected text, got \(frame.opcode)") }
        return String(decoding: frame.payload, as: UTF8.self)
    }

    func sendText(_ text: String) {
        send(clientFrame(.text, text))
    }
}
