import ChatTestSupport
import Foundation
import SocketIO
import XCTest

/// The gateway's transport and HTTP edge against hostile clients, through the real `RoomBroker` and
/// `Gateway` processes: idle and half-open connections, fragments, cross-site posts, per-address
/// limits and trusted proxies. Each test starts its own gateway with the flags it needs.
final class TransportEndToEndTests: XCTestCase {
    var cluster: ChatCluster!

    override func tearDown() {
        if let run = testRun, run.totalFailureCount > 0, let cluster {
            print("server logs:\n\(cluster.logTails)")
        }
        cluster?.stop()
        cluster = nil
    }

    /// Starts a broker and one gateway with `arguments`; returns the gateway's port.
    func startGateway(_ arguments: [String] = []) throws -> Int {
        cluster = try ChatCluster(logPrefix: "transport-" + name.filter { $0.isLetter || $0.isNumber })
        return try cluster.addGateway("gw-t", arguments: arguments)
    }

    /// Reads frames until a close frame arrives within `timeout`; returns its code and reason.
    func closeFrame(of client: RawTestClient, timeout: TimeInterval) throws -> (code: Int, reason: String)? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let frame = try client.readFrame(timeout: deadline.timeIntervalSinceNow) else { return nil }
            if frame.opcode == .connectionClose {
                let code = frame.payload.count >= 2 ? Int(frame.payload[0]) << 8 | Int(frame.payload[1]) : 0
                return (code, String(decoding: frame.payload.dropFirst(2), as: UTF8.self))
            }
        }
        return nil
    }

    /// A JSON POST of `body` to `path` with extra headers.
    func post(
        _ client: RawTestClient,
        _ path: String,
        _ body: String,
        headers: [String: String]
    ) throws -> RawTestClient.HTTPResponse {
        try client.request("POST", path, headers: headers, body: body)
    }

    func roomNames(port: Int) throws -> [String] {
        let response = try RawTestClient(port: port).request("GET", "/api/rooms")
        XCTAssertEqual(response.status, 200, response.body)
        let rooms = try JSONValue.parse(response.body, limits: .trusted)["rooms"]?.arrayValue ?? []
        return rooms.compactMap { $0["room"]?.stringValue }
    }

    // MARK: Idle connections

    func testSilentTCPConnectionIsClosedByTheDefaultRequestTimeout() throws {
        let port = try startGateway()
        XCTAssertTrue(
            cluster.gateways[0].waitForOutput(containing: "file-descriptors"),
            "the gateway logs its raised fd limit"
        )
        XCTAssertTrue(
            cluster.broker.waitForOutput(containing: "file-descriptors"),
            "the broker logs its raised fd limit"
        )
        let silent = try RawTestClient(port: port)
        let opened = Date()
        XCTAssertTrue(silent.waitForEOF(timeout: 15), "a connection that sends nothing is closed (default: after 10 s)")
        XCTAssertGreaterThan(Date().timeIntervalSince(opened), 5, "not before the client had its time")
    }

    func testHalfSentRequestsAndIdleKeepAliveAreClosed() throws {
        let port = try startGateway(["--request-timeout", "1"])
        let halfHead = try RawTestClient(port: port)
        halfHead.send("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n")  // no blank line: the head never ends
        let halfBody = try RawTestClient(port: port)
        halfBody.send(
            "POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na"
        )
        let slowloris = try RawTestClient(port: port)
        let keepAlive = try RawTestClient(port: port)
        XCTAssertEqual(try keepAlive.request("GET", "/").status, 200, "a complete request is answered")

        // A slow client that trickles one header line now and then gains nothing.
        slowloris.send("GET / HTTP/1.1\r\n")
        for index in 0..<3 {
            Thread.sleep(forTimeInterval: 0.4)
            slowloris.send("X-Trickle-\(index): 1\r\n")
        }
        for (name, client) in [
            ("half head", halfHead), ("half body", halfBody), ("slowloris", slowloris), ("idle keep-alive", keepAlive),
        ] {
            XCTAssertTrue(client.waitForEOF(timeout: 5), "\(name) closed")
        }
        XCTAssertTrue(ChatCluster.isHealthy(port: port), "the gateway still serves")
        let metrics = try cluster.metrics(ofGatewayOn: port).body
        XCTAssertTrue(
            metrics.contains(#"chat_gateway_limited_total{limit="request_timeout"}"#),
            "half-sent requests are counted"
        )
    }

    func testWebSocketWithoutSocketIOConnectIsClosedWithAReason() throws {
        let port = try startGateway(["--connect-timeout", "1"])
        let connected = try SocketIOTestClient(port: port)
        let silent = try RawTestClient(port: port)
        XCTAssertEqual(try silent.upgrade().status, 101)
        XCTAssertTrue(try silent.readText().hasPrefix("0{"), "open packet")
        let close = try XCTUnwrap(try closeFrame(of: silent, timeout: 5), "closed without CONNECT")
        XCTAssertEqual(close.code, 1008)
        XCTAssertTrue(close.reason.contains("no Socket.IO CONNECT within 1 s"), close.reason)
        XCTAssertTrue(silent.waitForEOF(timeout: 5))
        // The client that sent 40 is still served well after the deadline.
        Thread.sleep(forTimeInterval: 1)
        XCTAssertNotNil(try connected.emit("rooms")["rooms"], "a connected client stays")
    }

    func testUnfinishedFragmentedMessageIsClosed() throws {
        let port = try startGateway(["--fragment-timeout", "1"])
        let client = try SocketIOTestClient(port: port)
        client.raw.send(
            clientFrame(
                .text,
                "42[\"message\",{\"room\":\"x\",\"text\":\"" + String(repeating: "a", count: 200),
                fin: false
            )
        )
        let close = try XCTUnwrap(try closeFrame(of: client.raw, timeout: 5), "closed with the message unfinished")
        XCTAssertEqual(close.code, 1008)
        XCTAssertTrue(close.reason.contains("fragmented message not finished"), close.reason)
        XCTAssertTrue(client.raw.waitForEOF(timeout: 5))

        let finished = try SocketIOTestClient(port: port)
        let id = UInt64(7)
        finished.raw.send(clientFrame(.text, "427[\"rooms\",{}" + String(repeating: " ", count: 100), fin: false))
        finished.raw.send(clientFrame(.continuation, "]", fin: true))
        XCTAssertNotNil(try finished.waitForAck(id)["rooms"], "a fragmented message finished in time is served")
    }

    // MARK: HTTP API

    func testCrossSitePostsAreRefusedAndCreateNothing() throws {
        let port = try startGateway()
        let client = try RawTestClient(port: port)
        let body = #"{"name":"mallory","room":"csrf-room"}"#
        let textPlainForeign = try post(
            client,
            "/api/rooms",
            body,
            headers: ["Content-Type": "text/plain", "Origin": "https://evil.example"]
        )
        XCTAssertEqual(textPlainForeign.status, 403, textPlainForeign.body)
        XCTAssertTrue(textPlainForeign.body.contains(#""code":"origin_not_allowed""#), textPlainForeign.body)
        let textPlain = try post(client, "/api/rooms", body, headers: ["Content-Type": "text/plain;charset=UTF-8"])
        XCTAssertEqual(textPlain.status, 415, textPlain.body)
        XCTAssertTrue(textPlain.body.contains(#""code":"unsupported_media_type""#), textPlain.body)
        let jsonForeign = try post(
            client,
            "/api/rooms",
            body,
            headers: ["Content-Type": "application/json", "Origin": "https://evil.example"]
        )
        XCTAssertEqual(jsonForeign.status, 403, jsonForeign.body)
        let form = try post(client, "/api/rooms", body, headers: ["Content-Type": "application/x-www-form-urlencoded"])
        XCTAssertEqual(form.status, 415, form.body)
        XCTAssertFalse(try roomNames(port: port).contains("csrf-room"), "no room was created")

        // The page's own origin and non-browser clients (no Origin) may create rooms.
        let own = try post(
            client,
            "/api/rooms",
            #"{"name":"ann","room":"own-room"}"#,
            headers: ["Content-Type": "application/json; charset=utf-8", "Origin": "http://127.0.0.1"]
        )
        XCTAssertEqual(own.status, 201, own.body)
        XCTAssertTrue(try roomNames(port: port).contains("own-room"))
    }

    func testStaticFilesCarrySecurityHeaders() throws {
        let port = try startGateway()
        let page = try RawTestClient(port: port).request("GET", "/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(
            page.headers["content-security-policy"],
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        )
        XCTAssertEqual(page.headers["referrer-policy"], "no-referrer")
        XCTAssertEqual(page.headers["x-frame-options"], "DENY")
    }

    // MARK: Per-address limits

    func testConnectionsPerAddressAreCapped() throws {
        let port = try startGateway(["--max-connections-per-address", "3"])
        let first = try (0..<3).map { _ in try SocketIOTestClient(port: port) }
        let refused = try RawTestClient(port: port)
        let response = try refused.upgrade(host: "127.0.0.1:\(port)")
        XCTAssertEqual(response.status, 429, response.body)
        XCTAssertTrue(response.body.contains(#""code":"too_many_connections""#), response.body)
        XCTAssertTrue(refused.waitForEOF(timeout: 5), "the refused connection is closed")
        let httpRefused = try RawTestClient(port: port).request("GET", "/")
        XCTAssertEqual(httpRefused.status, 429, "plain HTTP counts too")

        // Another address is not affected, and a closed connection frees its slot.
        let other = try RawTestClient(port: port, sourceAddress: "127.0.0.2")
        XCTAssertEqual(try other.upgrade(host: "127.0.0.1:\(port)").status, 101)
        first[0].disconnect()
        var replaced: SocketIOTestClient?
        for _ in 0..<50 where replaced == nil {
            replaced = try? SocketIOTestClient(port: port)
            if replaced == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        XCTAssertNotNil(replaced, "a slot is free again after a connection closed")
        XCTAssertNotNil(try first[1].emit("rooms")["rooms"], "admitted connections keep working")

        let metrics = try cluster.metrics(ofGatewayOn: port).body
        XCTAssertTrue(metrics.contains(#"chat_gateway_limited_total{limit="connections_per_address"}"#), metrics)
        XCTAssertTrue(
            cluster.gateways[0].waitForOutput(containing: "limit=connections_per_address"),
            "the limit is logged"
        )
        let logLines = cluster.gateways[0].output.split(separator: "\n").filter { $0.contains("limited") }
        XCTAssertTrue(logLines.count <= 2, "once per address per limit per 10 s: \(logLines)")
    }

    func testForwardedForIsHonouredOnlyFromATrustedProxy() throws {
        // Two HTTP requests per client address, then 429: which address a request counts under shows
        // which client the gateway believed.
        let port = try startGateway([
            "--trusted-proxy", "127.0.0.2", "--http-burst", "2", "--http-requests-per-second", "0.01",
        ])
        func status(from source: String, forwardedFor: String?) throws -> Int {
            let headers = forwardedFor.map { ["X-Forwarded-For": $0] } ?? [:]
            return try RawTestClient(port: port, sourceAddress: source).request("GET", "/api/rooms", headers: headers)
                .status
        }
        // Through the trusted proxy 127.0.0.2, each forwarded client has its own bucket.
        XCTAssertEqual(try status(from: "127.0.0.2", forwardedFor: "198.51.100.1"), 200)
        XCTAssertEqual(try status(from: "127.0.0.2", forwardedFor: "198.51.100.1"), 200)
        XCTAssertEqual(try status(from: "127.0.0.2", forwardedFor: "198.51.100.1"), 429)
        XCTAssertEqual(
            try status(from: "127.0.0.2", forwardedFor: "6.6.6.6, 198.51.100.2"),
            200,
            "the rightmost untrusted hop"
        )
        XCTAssertEqual(try status(from: "127.0.0.2", forwardedFor: "7.7.7.7, 198.51.100.2"), 200)
        XCTAssertEqual(
            try status(from: "127.0.0.2", forwardedFor: "8.8.8.8, 198.51.100.2"),
            429,
            "what the client wrote left of it is ignored"
        )

        // From an address that is not a trusted proxy, the header is ignored: the peer is the client.
        XCTAssertEqual(try status(from: "127.0.0.3", forwardedFor: "198.51.100.3"), 200)
        XCTAssertEqual(try status(from: "127.0.0.3", forwardedFor: "198.51.100.4"), 200)
        XCTAssertEqual(try status(from: "127.0.0.3", forwardedFor: "198.51.100.5"), 429)
        let refused = try RawTestClient(port: port, sourceAddress: "127.0.0.3").request("GET", "/api/rooms")
        XCTAssertTrue(refused.body.contains(#""code":"rate_limited""#), refused.body)
        XCTAssertEqual(refused.headers["retry-after"], "1")
        XCTAssertEqual(
            try RawTestClient(port: port, sourceAddress: "127.0.0.3").request("GET", "/healthz").status,
            200,
            "health checks are not limited"
        )
    }
}
