import ChatAPI
import ChatWire
import NIOCore
import NIOHTTP1
import XCTest

@testable import GatewayCore

final class GatewayAPITests: XCTestCase {
    func testRefusalsMapToHTTPStatusesWithJSONBodiesAndHeaders() {
        let cases: [(APIRefusal, Int, String)] = [
            (APIRefusal(.invalid(ChatError(.wrongPassword, "because"))), 401, "wrong_password"),
            (APIRefusal(.invalid(ChatError(.noSuchRoom, "because"))), 404, "no_such_room"),
            (APIRefusal(.invalid(ChatError(.badRequest, "because"))), 400, "bad_request"),
            (APIRefusal(.invalid(ChatError(.tooManyAttempts, "because"))), 429, "too_many_attempts"),
            (APIRefusal(.invalid(ChatError(.brokerUnavailable, "because"))), 503, "broker_unavailable"),
            (APIRefusal(.unsupportedMediaType(contentType: "text/plain")), 415, "unsupported_media_type"),
            (APIRefusal(.originNotAllowed(origin: "https://evil.example")), 403, "origin_not_allowed"),
            (APIRefusal(.methodNotAllowed(method: "PUT", allowed: [.post])), 405, "method_not_allowed"),
        ]
        for (refusal, status, code) in cases {
            let response = HTTPAPIResponse(refusal: refusal)
            XCTAssertEqual(response.status.code, UInt(status))
            let body = String(buffer: response.body)
            XCTAssertTrue(body.contains(#""code":"\#(code)""#), body)
            XCTAssertTrue(body.hasPrefix(#"{"error":""#), body)
        }
        XCTAssertEqual(
            HTTPAPIResponse(refusal: cases[0].0).headers.first(name: "www-authenticate"),
            #"Bearer realm="room""#
        )
        XCTAssertEqual(HTTPAPIResponse(refusal: cases[7].0).headers.first(name: "allow"), "POST")
    }
}
