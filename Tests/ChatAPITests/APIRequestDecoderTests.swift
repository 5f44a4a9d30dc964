import ChatAPI
import ChatWire
import XCTest

final class APIRequestDecoderTests: XCTestCase {
    private func endpoint(
        _ method: String,
        _ target: String,
        contentType: String? = "application/json",
        origin: String? = nil
    ) throws(APIRefusal) -> APIPendingRequest? {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return try APIPath(path: parts[0])?.accept(
            method: method,
            query: parts.count > 1 ? parts[1] : "",
            contentType: contentType,
            origin: origin,
            isAllowedOrigin: { $0 == "http://chat.example" }
        )
    }

    /// The route that accepted a head, as `METHOD pattern`.
    private func route(_ method: String, _ target: String) throws(APIRefusal) -> String? {
        try endpoint(method, target).map { "\($0.route.method.rawValue) \($0.route.pattern)" }
    }

    private func refusal(_ body: () throws -> Any?) -> APIRefusal? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? APIRefusal
        }
    }

    func testRefusalsEchoAtMostAFewBytesOfWhatWasSent() {
        let zalgo = "/api/x" + String(repeating: "\u{301}", count: 20_000)
        let notFound = refusal { try self.endpoint("GET", zalgo) }
        XCTAssertEqual(notFound?.status, 404)
        XCTAssertLessThan(notFound?.message.utf8.count ?? .max, 200)
        let origin = refusal {
            try self.endpoint("POST", "/api/rooms", origin: "http://e" + String(repeating: "\u{301}", count: 20_000))
        }
        XCTAssertEqual(origin?.status, 403)
        XCTAssertLessThan(origin?.message.utf8.count ?? .max, 300)
    }

    func testOneRouteDecidesWhichPathsAreAPIPaths() {
        for path in ["/healthz", "/metrics", "/api", "/api/", "/api/rooms", "/api/rooms/x/messages", "/api/whatever"] {
            XCTAssertNotNil(APIPath(path: path), path)
        }
        for path in ["/", "/index.html", "/apix", "/healthz/", "/socket.io/", "/app.js"] {
            XCTAssertNil(APIPath(path: path), path)
        }
        XCTAssertEqual(APIPath(path: "/api/rooms/lobby/messages")?.patterns, ["/api/rooms/{room}/messages"])
        XCTAssertEqual(APIRequest.routes.last?.parameters(of: "/api/rooms/lobby/messages"), ["room": "lobby"])
        XCTAssertEqual(APIPath(path: "/api/rooms/lobby/messages/")?.patterns, [])
        XCTAssertEqual(APIPath(path: "/healthz")?.isRateLimited, false)
        XCTAssertEqual(APIPath(path: "/api/rooms")?.isRateLimited, true)
        XCTAssertEqual(APIPath(path: "/api/whatever")?.isRateLimited, true)
    }

    func testRoutesMethodsAndPagination() throws {
        XCTAssertNil(try endpoint("GET", "/index.html"))
        XCTAssertEqual(try endpoint("GET", "/healthz")?.request, .health)
        XCTAssertEqual(try endpoint("HEAD", "/metrics")?.request, .metrics)
        XCTAssertEqual(try endpoint("GET", "/api/rooms")?.request, .listRooms(RoomsPage(limit: 100, after: nil)))
        XCTAssertEqual(
            try endpoint("GET", "/api/rooms?limit=5&after=lobby&x=1")?.request,
            .listRooms(RoomsPage(limit: 5, after: "lobby"))
        )
        XCTAssertEqual(try route("POST", "/api/rooms"), "POST /api/rooms")
        XCTAssertEqual(
            try endpoint("POST", "/api/rooms/lobby/messages")?.request(
                authorization: "Bearer Abc234defGHJ",
                body: Array(#"{"name":"bot","text":"hi"}"#.utf8)
            ),
            .postMessage(room: "lobby", password: "Abc234defGHJ", name: "bot", text: "hi", id: nil)
        )
        XCTAssertEqual(refusal { try self.endpoint("GET", "/api/nothing") }?.status, 404)
        let notAllowed = refusal { try self.endpoint("DELETE", "/api/rooms") }
        XCTAssertEqual(notAllowed?.status, 405)
        XCTAssertEqual(notAllowed?.allowHeader, "GET, HEAD, POST")
        XCTAssertEqual(refusal { try self.endpoint("GET", "/api/rooms/lobby/messages") }?.status, 405)
        for query in [
            "limit=0", "limit=201", "limit=x", "limit=1&limit=2", "after=bad%20room", "after=",
            "limit=" + String(repeating: "9", count: 600),
        ] {
            XCTAssertEqual(refusal { try self.endpoint("GET", "/api/rooms?" + query) }?.status, 400, query)
        }
        XCTAssertEqual(refusal { try self.endpoint("POST", "/api/rooms/bad room!/messages") }?.status, 400)
    }

    func testStateChangingRequestsNeedAnAllowedOriginAndAJSONBody() throws {
        for (contentType, origin) in [
            ("application/json; charset=utf-8", nil), ("Application/JSON", nil),
            ("application/json", "http://chat.example"),
        ] as [(String, String?)] {
            let accepted = try endpoint("POST", "/api/rooms", contentType: contentType, origin: origin)
            XCTAssertEqual(accepted?.route.pattern, "/api/rooms", contentType)
            XCTAssertEqual(accepted?.route.method, .post, contentType)
        }
        for contentType in [
            nil, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "application/json-seq",
        ] {
            let refused = refusal { try self.endpoint("POST", "/api/rooms", contentType: contentType) }
            XCTAssertEqual(refused?.status, 415, contentType ?? "none")
            XCTAssertEqual(refused?.code, "unsupported_media_type")
        }
        let foreign = refusal {
            try self.endpoint("POST", "/api/rooms", contentType: "text/plain", origin: "https://evil.example")
        }
        XCTAssertEqual(foreign?.status, 403, "the Origin check comes first")
        XCTAssertEqual(foreign?.code, "origin_not_allowed")
        XCTAssertEqual(refusal { try self.endpoint("POST", "/api/rooms/lobby/messages", origin: "null") }?.status, 403)
        XCTAssertEqual(
            try endpoint("GET", "/api/rooms", contentType: nil, origin: "https://evil.example")?.request,
            .listRooms(RoomsPage()),
            "reading is allowed from anywhere"
        )
    }

    func testBodiesBecomeValidatedFields() throws {
        func request(
            _ target: String,
            _ body: String,
            authorization: String? = "Bearer Abc234defGHJ"
        ) throws(APIRefusal) -> APIRequest? {
            try endpoint("POST", target)?.request(authorization: authorization, body: Array(body.utf8))
        }
        XCTAssertEqual(
            try request("/api/rooms", #"{"name":" ann ","room":null}"#),
            .createRoom(name: "ann", room: nil, id: nil)
        )
        XCTAssertEqual(
            try request("/api/rooms", #"{"name":"ann","room":"lobby","id":"k-1.2:3"}"#),
            .createRoom(name: "ann", room: "lobby", id: "k-1.2:3")
        )
        XCTAssertEqual(
            try request(
                "/api/rooms/lobby/messages",
                #"{"name":"bot","text":"hi"}"#,
                authorization: "bearer  Abc234defGHJ "
            ),
            .postMessage(room: "lobby", password: "Abc234defGHJ", name: "bot", text: "hi", id: nil)
        )
        for body in [
            "", "[]", "{", #"{"name":1}"#, #"{"room":"x"}"#, #"{"name":"ann","room":"bad room"}"#,
            #"{"name":"ann","id":""}"#,
            #"{"name":"ann","id":"has space"}"#, #"{"name":"ann","id":"\#(String(repeating: "k", count: 65))"}"#,
            #"{"name":"ann","id":7}"#,
        ] {
            let refused = refusal { try request("/api/rooms", body) }
            XCTAssertEqual(refused?.status, 400, body)
            XCTAssertEqual(refused?.code, "bad_request", body)
        }
        for authorization in [nil, "Basic x", "Bearer ", "Bearer"] as [String?] {
            let refused = refusal {
                try request("/api/rooms/lobby/messages", #"{"name":"bot","text":"hi"}"#, authorization: authorization)
            }
            XCTAssertEqual(refused?.status, 401, authorization ?? "none")
            XCTAssertEqual(refused?.asksForAuthentication, true)
        }
        XCTAssertEqual(
            refusal { try request("/api/rooms/lobby/messages", #"{"name":"bot","text":"  "}"#) }?.status,
            400
        )
    }

    func testWholeRequestDecoding() throws {
        let decoded = try APIRequestDecoder.decode(
            method: "POST",
            path: "/api/rooms",
            query: "",
            contentType: "application/json",
            origin: nil,
            authorization: nil,
            body: Array(#"{"name":"ann"}"#.utf8),
            isAllowedOrigin: { _ in false }
        )
        XCTAssertEqual(decoded, .createRoom(name: "ann", room: nil, id: nil))
    }
}
