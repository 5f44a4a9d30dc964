import ChatWire
@testable import GatewayCore
import NIOCore
import NIOHTTP1
import XCTest

final class GatewayAPITests: XCTestCase {
    func testBearerTokenIsRequiredAndParsed() throws {
        XCTAssertEqual(try GatewayAPI.bearerToken(["Authorization": "Bearer Abc234defGHJ"]), "Abc234defGHJ")
        XCTAssertEqual(try GatewayAPI.bearerToken(["authorization": "bearer  Abc234defGHJ "]), "Abc234defGHJ")
        for headers: HTTPHeaders in [[:], ["Authorization": "Basic x"], ["Authorization": "Bearer "], ["Authorization": "Bearer"]] {
            XCTAssertThrowsError(try GatewayAPI.bearerToken(headers), "\(headers)") { error in
                XCTAssertEqual((error as? ChatError)?.code, .wrongPassword)
            }
        }
    }

    func testBodiesMustBeJSONObjectsWithStringFields() throws {
        let object = try GatewayAPI.jsonObject(ByteBuffer(string: #"{"name":"ann","text":"hi","room":null}"#))
        XCTAssertEqual(try GatewayAPI.string("name", in: object), "ann")
        XCTAssertNil(try GatewayAPI.optionalString("room", in: object))
        for body in ["", "[]", "{", #"{"name":1}"#] {
            XCTAssertThrowsError(try GatewayAPI.string("name", in: GatewayAPI.jsonObject(ByteBuffer(string: body))), body) { error in
                XCTAssertEqual((error as? ChatError)?.code, .badRequest)
            }
        }
    }

    func testErrorsMapToHTTPStatusesWithJSONBodies() {
        let cases: [(ChatErrorCode, Int)] = [(.wrongPassword, 401), (.noSuchRoom, 404), (.badRequest, 400), (.tooManyAttempts, 429), (.brokerUnavailable, 503)]
        for (code, status) in cases {
            let response = GatewayAPI.response(for: ChatError(code, "because"))
            XCTAssertEqual(response.status.code, UInt(status))
            let body = String(buffer: response.body)
            XCTAssertTrue(body.contains(#""code":"\#(code.code)""#), body)
            XCTAssertTrue(body.contains(#""error":"because""#), body)
        }
    }
}
