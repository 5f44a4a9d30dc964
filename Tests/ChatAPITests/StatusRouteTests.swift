import ChatAPI
import XCTest

/// `/status` and `/status.json` belong to the API: never static files, read-only, and counted by the
/// per-address HTTP request limit like every API path but `/healthz`.
final class StatusRouteTests: XCTestCase {
    func testBothPathsAreReadOnlyAPIRoutesUnderTheRequestLimit() throws {
        XCTAssertEqual(APIRoute(path: "/status"), .status(.html))
        XCTAssertEqual(APIRoute(path: "/status.json"), .status(.json))
        XCTAssertNil(APIRoute(path: "/status/"))
        XCTAssertNil(APIRoute(path: "/status.html"))
        for route in [APIRoute.status(.html), .status(.json)] {
            XCTAssertTrue(route.isRateLimited)
            XCTAssertEqual(route.allowedMethods, [.get, .head])
        }
        let decoded = try APIRequestDecoder.decode(
            method: "GET",
            path: "/status.json",
            query: "",
            contentType: nil,
            origin: nil,
            authorization: nil,
            body: [UInt8](),
            isAllowedOrigin: { _ in false }
        )
        XCTAssertEqual(decoded, .status(.json))
        XCTAssertThrowsError(
            try APIRequestDecoder.decode(
                method: "POST",
                path: "/status",
                query: "",
                contentType: "application/json",
                origin: nil,
                authorization: nil,
                body: [UInt8](),
                isAllowedOrigin: { _ in true }
            )
        ) { error in
            XCTAssertEqual((error as? APIRefusal)?.status, 405)
        }
    }
}
