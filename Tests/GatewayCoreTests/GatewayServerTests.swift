import ChatAPI
import ChatTestSupport
import ChatWire
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import SocketIO
import XCTest

@testable import GatewayCore

/// Thread-safe record of what the server's connections reported.
final class ServerEvents: @unchecked Sendable {
    private let lock = NSLock()
    private var reasons: [String] = []
    private var requests: [HTTPAPIRequest] = []

    func closed(_ reason: String) {
        lock.lock()
        reasons.append(reason)
        lock.unlock()
    }

    func received(_ request: HTTPAPIRequest) {
        lock.lock()
        requests.append(request)
        lock.unlock()
    }

    var closeReasons: [String] {
        lock.lock()
        defer { lock.unlock() }
        return reasons
    }

    var apiRequests: [HTTPAPIRequest] {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }

    /// Polls until `condition` holds or 5 s pass.
    func wait(until condition: (ServerEvents) -> Bool) async -> Bool {
        for _ in 0..<500 {
            if condition(self) { return true }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return condition(self)
    }
}

/// Echoes every Engine.IO message back and records the close reason.
final class EchoDelegate: EngineConnectionDelegate {
    let events: ServerEvents

    init(events: ServerEvents) {
        self.events = events
    }

    func engineConnectionDidOpen(_ connection: EngineConnection) {}

    func engineConnection(_ connection: EngineConnection, didReceiveMessage payload: Substring) {
        if payload == "flood" {
            // The fan-out path: one pre-built frame written many times, flushed once.
            let frame = WebSocketFrameBuilder.engineMessageFrame(
                "2[\"x\",\"" + String(repeating: "y", count: 1000) + "\"]"
            )
            for _ in 0..<30_000 where connection.isOpen {
                connection.write(frame: frame)
            }
            connection.flush()
            return
        }
        connection.send(message: String(payload))
    }

    func engineConnectionDidClose(_ connection: EngineConnection, reason: CloseReason) {
        events.closed(reason.description)
    }
}

/// Answers `/healthz`, fails `/metrics`, and echoes other API requests as JSON.
struct TestAPI: HTTPAPIHandler {
    let events: ServerEvents

    func handle(_ request: HTTPAPIRequest, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPAPIResponse> {
        events.received(request)
        if request.decoded == .health {
            return eventLoop.makeSucceededFuture(HTTPAPIResponse(status: .ok, json: "{\"status\":\"ok\"}"))
        }
        if request.decoded == .metrics {
            struct Boom: Error {}
            return eventLoop.makeFailedFuture(Boom())
        }
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("path")
        writer.string(request.path)
        writer.key("body")
        writer.string(String(buffer: request.body))
        writer.endObject()
        let json = writer.text
        return eventLoop.makeSucceededFuture(HTTPAPIResponse(status: .created, json: json, headers: ["X-Test": "1"]))
    }
}

final class GatewayServerTests: XCTestCase {
    private var server: GatewayServer?
    private var events = ServerEvents()
    private var staticDirectory: URL!

    private func configuration(port: Int = 0) -> GatewayServerConfiguration {
        let events = self.events
        return GatewayServerConfiguration(
            host: "127.0.0.1",
            port: port,
            staticDirectory: staticDirectory.path,
            maxPayload: 1000,
            maxHTTPBodyBytes: 100
        )
    }

    private var behaviour: GatewayServerBehaviour {
        let events = self.events
        return GatewayServerBehaviour(apiHandler: TestAPI(events: events)) { _ in EchoDelegate(events: events) }
    }

    override func setUp() async throws {
        staticDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-site-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: staticDirectory, withIntermediateDirectories: true)
        try "<h1>chat</h1>".write(
            to: staticDirectory.appendingPathComponent("index.html"),
            atomically: true,
            encoding: .utf8
        )
        try "x=1".write(to: staticDirectory.appendingPathComponent("app.js"), atomically: true, encoding: .utf8)
        server = try await GatewayServer.start(
            configuration: configuration(),
            behaviour: behaviour,
            logger: Logger(label: "gateway-test")
        )
    }

    override func tearDown() async throws {
        try await server?.shutdown()
        try? FileManager.default.removeItem(at: staticDirectory)
    }

    private var port: Int { server?.port ?? 0 }

    func testBindsAnEphemeralPort() throws {
        XCTAssertGreaterThan(port, 0)
        XCTAssertEqual(server?.localAddress.ipAddress, "127.0.0.1")
    }

    func testWebSocketOpenPacketAndEcho() throws {
        let client = try RawTestClient(port: port)
        let response = try client.upgrade(origin: "http://127.0.0.1")
        XCTAssertEqual(response.status, 101)
        XCTAssertEqual(response.headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        let open = try client.readText()
        XCTAssertTrue(open.hasPrefix("0{\"sid\":\""), open)
        XCTAssertTrue(
            open.hasSuffix("\"upgrades\":[],\"pingInterval\":20000,\"pingTimeout\":10000,\"maxPayload\":1000}"),
            open
        )

        client.sendText("42[\"hello\",\"wörld\"]")
        XCTAssertEqual(try client.readText(), "42[\"hello\",\"wörld\"]")
        let middle = String(repeating: "m", count: GatewayServer.minFragmentBytes)
        client.send(clientFrame(.text, "42[\"frag" + middle, fin: false))
        client.send(clientFrame(.continuation, "ment\"]", fin: true))
        XCTAssertEqual(try client.readText(), "42[\"frag" + middle + "ment\"]")

        client.send(clientFrame(.ping, "abc"))
        let pong = try client.readFrame()
        XCTAssertEqual(pong.opcode, .pong)
        XCTAssertEqual(pong.payload, Array("abc".utf8))
    }

    func testOversizedMessageClosesWith1009() async throws {
        let client = try RawTestClient(port: port)
        XCTAssertEqual(try client.upgrade().status, 101)
        _ = try client.readText()
        client.sendText("4" + String(repeating: "x", count: 1000))
        let close = try client.readFrame()
        XCTAssertEqual(close.opcode, .connectionClose)
        XCTAssertEqual(close.payload.count >= 2 ? Int(close.payload[0]) << 8 | Int(close.payload[1]) : 0, 1009)
        XCTAssertTrue(String(decoding: close.payload.dropFirst(2), as: UTF8.self).contains("maxPayload"))
        XCTAssertTrue(client.waitForEOF())
        let reported = await events.wait { $0.closeReasons.contains { $0.contains("maxPayload") } }
        XCTAssertTrue(reported, "\(events.closeReasons)")
    }

    func testSlowConsumerIsDisconnected() async throws {
        let client = try RawTestClient(port: port)
        XCTAssertEqual(try client.upgrade().status, 101)
        _ = try client.readText()
        client.sendText("4flood")  // ~30 MB for a client that reads nothing yet
        let reported = await events.wait { $0.closeReasons.contains(CloseReason.slowConsumer.description) }
        XCTAssertTrue(reported, "\(events.closeReasons)")
        XCTAssertTrue(client.waitForEOF())
    }

    func testBinaryFrameClosesWith1003() throws {
        let client = try RawTestClient(port: port)
        XCTAssertEqual(try client.upgrade().status, 101)
        _ = try client.readText()
        client.send(clientFrame(.binary, [1, 2, 3]))
        let close = try client.readFrame()
        XCTAssertEqual(close.opcode, .connectionClose)
        XCTAssertEqual(Array(close.payload.prefix(2)), [0x03, 0xEB])
        XCTAssertTrue(client.waitForEOF())
    }

    func testForeignOriginIsRefusedWith403() throws {
        let client = try RawTestClient(port: port)
        let response = try client.upgrade(host: "127.0.0.1:\(port)", origin: "http://evil.example")
        XCTAssertEqual(response.status, 403)
        XCTAssertEqual(response.headers["content-type"], "application/json")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: String])
        XCTAssertEqual(json["code"], "origin_not_allowed")
        XCTAssertNotNil(json["error"])

        let sameOrigin = try RawTestClient(port: port)
        XCTAssertEqual(
            try sameOrigin.upgrade(host: "127.0.0.1:\(port)", origin: "http://127.0.0.1:\(port)").status,
            101
        )
        let noOrigin = try RawTestClient(port: port)
        XCTAssertEqual(try noOrigin.upgrade().status, 101)
    }

    func testAllowListOfOrigins() {
        let policy = SocketIOUpgradePolicy(allowedOrigins: ["http://chat.example:8080/"])
        XCTAssertTrue(policy.isAllowed(origin: "http://chat.example:8080", host: "other"))
        XCTAssertTrue(policy.isAllowed(origin: "HTTP://Chat.Example:8080", host: nil))
        XCTAssertFalse(policy.isAllowed(origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080"))
        XCTAssertTrue(SocketIOUpgradePolicy(allowedOrigins: ["*"]).isAllowed(origin: "http://x", host: nil))
        XCTAssertFalse(SocketIOUpgradePolicy(allowedOrigins: []).isAllowed(origin: "http://x", host: nil))
    }

    func testPollingIsRefusedWith400() throws {
        let client = try RawTestClient(port: port)
        let response = try client.request("GET", "/socket.io/?EIO=4&transport=polling&t=abc")
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.headers["content-type"], "application/json")
        XCTAssertEqual(
            response.body,
            #"{"error":"Only the WebSocket transport is supported: set transports: ['websocket'] in your client.","code":"websocket_only"}"#
        )
        // Keep-alive: the same connection still answers.
        XCTAssertEqual(try client.request("GET", "/").status, 200)
    }

    func testWrongEngineIOVersionIsRefusedWith400() throws {
        let client = try RawTestClient(port: port)
        let response = try client.upgrade(path: "/socket.io/?EIO=3&transport=websocket")
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(response.body.contains("\"code\":\"unsupported_protocol_version\""), response.body)
        XCTAssertTrue(client.waitForEOF(), "a refused upgrade closes the connection")
    }

    func testStaticFilesAndKeepAlive() throws {
        let client = try RawTestClient(port: port)
        let index = try client.request("GET", "/")
        XCTAssertEqual(index.status, 200)
        XCTAssertEqual(index.body, "<h1>chat</h1>")
        XCTAssertEqual(index.headers["content-type"], "text/html; charset=utf-8")
        let script = try client.request("GET", "/app.js?v=1")
        XCTAssertEqual(script.headers["content-type"], "text/javascript; charset=utf-8")
        XCTAssertEqual(script.body, "x=1")
        let head = try client.request("HEAD", "/app.js")
        XCTAssertEqual(head.headers["content-length"], "3")
        let missing = try client.request("GET", "/../../etc/passwd")
        XCTAssertEqual(missing.status, 404)
        XCTAssertTrue(missing.body.contains("\"code\":\"not_found\""), missing.body)
        let post = try client.request("POST", "/index.html", body: "x")
        XCTAssertEqual(post.status, 405)
        XCTAssertTrue(post.body.hasPrefix("{\"error\":"), post.body)
    }

    func testAPIRequestsReachTheDelegate() throws {
        let client = try RawTestClient(port: port)
        let created = try client.request(
            "POST",
            "/api/rooms?x=1",
            headers: ["Authorization": "Bearer pw", "Content-Type": "application/json"],
            body: "{\"name\":\"a\"}"
        )
        XCTAssertEqual(created.status, 201)
        XCTAssertEqual(created.headers["content-type"], "application/json")
        XCTAssertEqual(created.headers["x-test"], "1")
        XCTAssertEqual(created.body, #"{"path":"/api/rooms","body":"{\"name\":\"a\"}"}"#)
        let request = try XCTUnwrap(events.apiRequests.last)
        XCTAssertEqual(request.method, .POST)
        XCTAssertEqual(request.decoded, .createRoom(name: "a", room: nil, id: nil))
        XCTAssertEqual(request.headers.first(name: "authorization"), "Bearer pw")
        XCTAssertTrue(request.remoteAddress.hasPrefix("127.0.0.1:"), request.remoteAddress)
        XCTAssertEqual(request.clientAddress, ClientAddress("127.0.0.1"))
        XCTAssertGreaterThan(request.connectionID, 0)

        let health = try client.request("GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.body, "{\"status\":\"ok\"}")
        XCTAssertEqual(events.apiRequests.last?.connectionID, request.connectionID, "same keep-alive connection")

        let failed = try client.request("GET", "/metrics")
        XCTAssertEqual(failed.status, 500)
        XCTAssertTrue(failed.body.contains("\"code\":\"internal\""), failed.body)
    }

    func testOversizedBodyIsRefusedWith413() throws {
        let client = try RawTestClient(port: port)
        let response = try client.request(
            "POST",
            "/api/rooms",
            headers: ["Content-Type": "application/json"],
            body: String(repeating: "a", count: 101)
        )
        XCTAssertEqual(response.status, 413)
        XCTAssertTrue(response.body.contains("\"code\":\"payload_too_large\""), response.body)
        XCTAssertTrue(client.waitForEOF())

        // Chunked bodies without Content-Length are counted too.
        let chunked = try RawTestClient(port: port)
        chunked.send(
            "POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunked.send("40\r\n" + String(repeating: "a", count: 64) + "\r\n")
        chunked.send("40\r\n" + String(repeating: "a", count: 64) + "\r\n0\r\n\r\n")
        XCTAssertEqual(try chunked.readHTTPResponse().status, 413)
    }

    func testMalformedHTTPGetsJSON400() throws {
        let client = try RawTestClient(port: port)
        client.send("GARBAGE\r\n\r\n")
        let response = try client.readHTTPResponse()
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(response.body.contains("\"code\":\"bad_request\""), response.body)
    }

    func testTwoServersShareOnePort() async throws {
        let second = try await GatewayServer.start(
            configuration: configuration(port: port),
            behaviour: behaviour,
            logger: Logger(label: "second")
        )
        XCTAssertEqual(second.port, port)
        // Whichever process the kernel picks, the port answers.
        for _ in 0..<4 {
            let client = try RawTestClient(port: port)
            XCTAssertEqual(try client.request("GET", "/healthz").status, 200)
        }
        try await second.shutdown()
        let client = try RawTestClient(port: port)
        XCTAssertEqual(try client.request("GET", "/healthz").status, 200, "the first server still listens")
    }

    func testShutdownClosesWebSocketsWithGoingAway() async throws {
        let client = try RawTestClient(port: port)
        XCTAssertEqual(try client.upgrade().status, 101)
        _ = try client.readText()
        try await server?.shutdown()
        server = nil
        let close = try client.readFrame()
        XCTAssertEqual(close.opcode, .connectionClose)
        XCTAssertEqual(Array(close.payload.prefix(2)), [0x03, 0xE9])
        XCTAssertTrue(client.waitForEOF())
        XCTAssertEqual(events.closeReasons, ["server restarting: reconnect"])
    }

    func testConnectionsOverTheProcessTotalGet503() async throws {
        var limited = configuration()
        limited.maxConnections = 2
        let small = try await GatewayServer.start(
            configuration: limited,
            behaviour: behaviour,
            logger: Logger(label: "small")
        )
        let first = try RawTestClient(port: small.port)
        let second = try RawTestClient(port: small.port)
        XCTAssertEqual(try first.request("GET", "/").status, 200)
        let third = try RawTestClient(port: small.port)
        let refused = try third.request("GET", "/")
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.body.contains(#""code":"server_busy""#), refused.body)
        XCTAssertTrue(third.waitForEOF())
        XCTAssertEqual(try second.request("GET", "/").status, 200, "connections within the total are served")
        try await small.shutdown()
    }

    func testBindFailureIsReported() async throws {
        var bad = configuration()
        bad.host = "203.0.113.1"  // TEST-NET-3: not on this machine
        do {
            let unexpected = try await GatewayServer.start(
                configuration: bad,
                behaviour: behaviour,
                logger: Logger(label: "bad")
            )
            try await unexpected.shutdown()
            XCTFail("bind should fail")
        } catch let error as GatewayServerError {
            guard case .bindFailed = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.description.contains("203.0.113.1"))
        }
    }
}
