import ChatTestSupport
import Foundation
import SocketIO
import XCTest

/// Messages posted over HTTP and the counters of `/metrics`.
extension GatewayEndToEndTests {
    func testHTTPPostReachesWebSocketMembersAsTheSameMessageEvent() throws {
        let alice = try client(portA)
        let bob = try client(portB)
        let password = try createRoom("news", via: alice)
        try join(alice, "news", password, as: "alice")
        try join(bob, "news", password, as: "bob")
        _ = try alice.waitForEvent("joined")

        let posted = try RawTestClient(port: portB).request(
            "POST",
            "/api/rooms/news/messages",
            headers: ["Authorization": "Bearer \(password)", "Content-Type": "application/json"],
            body: #"{"name":"build-bot","text":"deploy finished"}"#
        )
        XCTAssertEqual(posted.status, 202, posted.body)
        XCTAssertEqual(posted.headers["content-type"], "application/json")
        let seq = try XCTUnwrap(try JSONValue.parse(posted.body)["seq"]?.int64Value, posted.body)
        let atAlice = try alice.waitForEvent("message")
        let atBob = try bob.waitForEvent("message")
        XCTAssertEqual(atAlice.text, atBob.text, "the same bytes on both gateways")
        XCTAssertEqual(atAlice.argument["seq"]?.int64Value, seq)
        XCTAssertEqual(atAlice.argument["name"], "build-bot")
        XCTAssertEqual(atAlice.argument["text"], "deploy finished")
        XCTAssertEqual(atAlice.argument["room"], "news")
        XCTAssertEqual(atAlice.argument["via"], "http", "marked, so it cannot pass for a member's message")

        // A WebSocket message has the same shape, without the mark.
        try say(bob, "news", "thanks")
        let fromBob = try alice.waitForEvent("message", matching: { $0["text"] == "thanks" })
        XCTAssertNil(fromBob.argument["via"])
        XCTAssertEqual(
            fromBob.argument.objectValue.map { Set($0.keys).union(["via"]) },
            atAlice.argument.objectValue.map { Set($0.keys) }
        )

        let refusals: [(headers: [String: String], path: String, body: String, status: Int, code: String)] = [
            ([:], "/api/rooms/news/messages", #"{"name":"bot","text":"no password"}"#, 401, "wrong_password"),
            (
                ["Authorization": "Bearer wrong-password"], "/api/rooms/news/messages",
                #"{"name":"bot","text":"bad password"}"#, 401, "wrong_password"
            ),
            (
                ["Authorization": "Bearer \(password)"], "/api/rooms/nosuchroom/messages",
                #"{"name":"bot","text":"lost"}"#, 404, "no_such_room"
            ),
            (
                ["Authorization": "Bearer \(password)"], "/api/rooms/news/messages", #"{"name":"bot","text":"#, 400,
                "bad_request"
            ),
            (
                ["Authorization": "Bearer \(password)"], "/api/rooms/news/messages", #"{"name":"bot"}"#, 400,
                "bad_request"
            ),
            (
                ["Authorization": "Bearer \(password)"], "/api/rooms/news/messages", #"["bot","text"]"#, 400,
                "bad_request"
            ),
        ]
        for refusal in refusals {
            let response = try RawTestClient(port: portA).request(
                "POST",
                refusal.path,
                headers: refusal.headers.merging(["Content-Type": "application/json"]) { $1 },
                body: refusal.body
            )
            XCTAssertEqual(response.status, refusal.status, "\(refusal): \(response.body)")
            XCTAssertEqual(response.headers["content-type"], "application/json", "\(refusal)")
            let json = try JSONValue.parse(response.body)
            XCTAssertEqual(json["code"]?.stringValue, refusal.code, "\(refusal): \(response.body)")
            XCTAssertFalse(json["error"]?.stringValue?.isEmpty ?? true, "\(refusal): \(response.body)")
        }

        // None of the refused posts reached the room.
        try say(alice, "news", "after the refusals")
        try require(bob.waitUntil { self.texts($0).last == "after the refusals" }, "bob saw \(texts(bob))")
        XCTAssertEqual(texts(bob), ["deploy finished", "thanks", "after the refusals"])
        try require(alice.waitUntil { self.texts($0).last == "after the refusals" }, "alice saw \(texts(alice))")
        XCTAssertEqual(texts(alice), texts(bob))
        assertOnlyValidEvents(of: alice, in: "news")
        assertOnlyValidEvents(of: bob, in: "news")
    }

    func testMetricsCountConnectionsDeliveriesAndRefusals() throws {
        let alice = try client(portA)
        let bob = try client(portA)
        let password = try createRoom("counted", via: alice)
        try join(alice, "counted", password, as: "alice")
        try join(bob, "counted", password, as: "bob")
        try say(alice, "counted", "one")
        _ = try bob.waitForEvent("message")
        let refused = try bob.emit("join", ["room": "counted", "password": "wrong", "name": "eve"])
        XCTAssertEqual(refused["code"], "bad_request", "bob is already in the room: \(refused.jsonText)")
        let metrics = try cluster.metrics(ofGatewayOn: portA)
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        func value(_ name: String) -> Double? {
            metrics.body.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap {
                Double($0.split(separator: " ").last ?? "")
            }
        }
        XCTAssertGreaterThanOrEqual(value("chat_gateway_connections_total") ?? 0, 2, metrics.body)
        XCTAssertGreaterThanOrEqual(value("chat_gateway_open_connections") ?? 0, 2, metrics.body)
        XCTAssertGreaterThanOrEqual(
            value("chat_gateway_deliveries_total") ?? 0,
            3,
            "bob's joined + the message to both: \(metrics.body)"
        )
        XCTAssertTrue(metrics.body.contains(#"chat_gateway_refusals_total{code="bad_request"} 1"#), metrics.body)
    }
}
