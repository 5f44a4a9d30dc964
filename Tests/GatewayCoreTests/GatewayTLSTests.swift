import ChatTestSupport
import Foundation
import Logging
import NIOCore
import XCTest

@testable import GatewayCore

/// `GatewayTLS`: what it accepts and the errors it gives for bad files; and a TLS listener whose
/// handshake never finishes is closed by the request timeout.
final class GatewayTLSTests: XCTestCase {
    // Made for these tests with `openssl req -x509 -newkey ec ... -days 36500 -subj /CN=127.0.0.1`;
    // the keys protect nothing.
    static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIBjzCCATagAwIBAgIUKZidY/Nyh40NyHd+31V+RJQv8EowCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNjAwMTQwNFoYDzIxMjYxMTAy
        MDAxNDA0WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAATjoGuU3c2ovIrqeQPk50PLmKJbZp7cB8T423awxY8gJwbZREQ4gU2G
        oSvB102JkEHjdG6lY0KrPSKnd14hSmrmo2QwYjAdBgNVHQ4EFgQUC+N5GQaY0xwr
        fwSLmuiNzDQJwfAwHwYDVR0jBBgwFoAUC+N5GQaY0xwrfwSLmuiNzDQJwfAwDwYD
        VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0cAMEQC
        IHPTTyDBS7I/WSzE3Tz+IzI1xJ9ztnwSoFU2rJwx+0CsAiBcIQjEZ/RLGciUT8tb
        zI+hwAxdEYIZnCIxQMchjDCsrA==
        -----END CERTIFICATE-----
        """
    static let key = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgf/OlM6xmrgDNrmRT
        CxrRhGzsrsrAaoDO6Ykhj3jOYiqhRANCAATjoGuU3c2ovIrqeQPk50PLmKJbZp7c
        B8T423awxY8gJwbZREQ4gU2GoSvB102JkEHjdG6lY0KrPSKnd14hSmrm
        -----END PRIVATE KEY-----
        """
    /// A key of no certificate here.
    static let otherKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2njg7nTUTIECoO9K
        3mbpn+IXphssE/YvDQKdViFP282hRANCAARCg2FF6/ced0J8sXC5XatprUtWck4r
        9z26YlyEOfWYKMh7vhYImgLttj9qLWPuiQ3vVD0GbD3zXXZLe9mFq8Tm
        -----END PRIVATE KEY-----
        """

    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes `text` to a new file in the test folder with `permissions`; returns its path.
    private func file(_ name: String, _ text: String, permissions: Int = 0o600) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: url.path)
        return url.path
    }

    private func load(_ certificate: String, _ key: String) -> Result<GatewayTLS, GatewayTLSError> {
        Result { () throws(GatewayTLSError) in try GatewayTLS(certificatePath: certificate, keyPath: key) }
    }

    func testLoadsACertificateAndItsKey() throws {
        let tls = try GatewayTLS(
            certificatePath: file("cert.pem", Self.certificate),
            keyPath: file("key.pem", Self.key)
        )
        XCTAssertGreaterThan(tls.notValidAfter, Date())
        // `openssl x509 -noout -fingerprint -sha256` of the certificate, without its colons.
        XCTAssertEqual(tls.current.fingerprint.count, 64)
        // One file holding both works for both flags (other PEM blocks are skipped).
        let both = try file("both.pem", Self.certificate + "\n" + Self.key)
        XCTAssertNoThrow(try GatewayTLS(certificatePath: both, keyPath: both))
    }

    func testAKeyReadableByOthersIsRefusedWithTheChmodToRun() throws {
        for permissions in [0o640, 0o604] {
            let key = try file("key-\(permissions).pem", Self.key, permissions: permissions)
            let result = load(try file("cert.pem", Self.certificate), key)
            XCTAssertEqual(result.failure, .keyReadableByOthers(path: key))
            XCTAssertTrue(result.failure?.description.contains("chmod 600 \(key)") == true)
        }
    }

    func testBadFilesAreRefusedWithTheFlagToFix() throws {
        let cert = try file("cert.pem", Self.certificate)
        let key = try file("key.pem", Self.key)
        let missing = directory.appendingPathComponent("missing.pem").path

        let cases: [(String, String, GatewayTLSError, String)] = [
            (missing, key, .unreadable(.certificate, path: missing, reason: "no such file"), "--tls-cert"),
            (cert, missing, .unreadable(.privateKey, path: missing, reason: "no such file"), "--tls-key"),
            (key, key, .noCertificate(path: key), "--tls-cert"),
            (cert, cert, .invalidPrivateKey(path: cert), "--tls-key"),
            (
                cert, try file("other.pem", Self.otherKey),
                .keyDoesNotMatch(certificatePath: cert, keyPath: directory.appendingPathComponent("other.pem").path),
                "not the private key"
            ),
            (
                cert,
                try file(
                    "enc.pem",
                    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIHsMFcG\n-----END ENCRYPTED PRIVATE KEY-----\n"
                ),
                .invalidPrivateKey(path: directory.appendingPathComponent("enc.pem").path), "decrypted first"
            ),
        ]
        for (certificate, key, expected, hint) in cases {
            guard case .failure(let error) = load(certificate, key) else {
                XCTFail("\(certificate) + \(key) loaded")
                continue
            }
            XCTAssertEqual(error, expected)
            XCTAssertTrue(error.description.contains(hint), error.description)
        }
    }

    func testAFileLargerThanTheLimitIsNotParsed() throws {
        let huge = try file("huge.pem", String(repeating: "A", count: GatewayTLSIdentity.maxKeyFileBytes + 1))
        let result = load(try file("cert.pem", Self.certificate), huge)
        XCTAssertEqual(result.failure, .tooLarge(.privateKey, path: huge, limit: GatewayTLSIdentity.maxKeyFileBytes))
    }

    func testTheOriginCheckWithTLSTakesOnlyTheHTTPSOrigin() {
        let tls = SocketIOUpgradePolicy(allowedOrigins: [], isTLS: true)
        XCTAssertTrue(tls.isAllowed(origin: "https://chat.example:8443", host: "chat.example:8443"))
        XCTAssertFalse(tls.isAllowed(origin: "http://chat.example:8443", host: "chat.example:8443"))
        // Plain, perhaps behind a TLS proxy: the page's origin may be either.
        let plain = SocketIOUpgradePolicy(allowedOrigins: [])
        XCTAssertTrue(plain.isAllowed(origin: "https://chat.example", host: "chat.example"))
        XCTAssertTrue(plain.isAllowed(origin: "http://chat.example", host: "chat.example"))
    }

    func testAHandshakeThatNeverFinishesIsClosedByTheRequestTimeout() async throws {
        var configuration = GatewayServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.tls = try GatewayTLS(
            certificatePath: file("cert.pem", Self.certificate),
            keyPath: file("key.pem", Self.key)
        )
        configuration.requestTimeout = .milliseconds(300)
        let server = try await GatewayServer.start(
            configuration: configuration,
            behaviour: GatewayServerBehaviour { _ in preconditionFailure("no connection gets this far") },
            logger: Logger(label: "gateway-tls-test")
        )
        let silent = try RawTestClient(port: server.port)
        let partial = try RawTestClient(port: server.port)
        partial.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01])  // a ClientHello record, cut short
        let plain = try RawTestClient(port: server.port)
        plain.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertTrue(silent.waitForEOF(timeout: 10), "a silent connection stayed open")
        XCTAssertTrue(partial.waitForEOF(timeout: 10), "a half-sent ClientHello stayed open")
        XCTAssertTrue(plain.waitForEOF(timeout: 10), "plain HTTP on the TLS port stayed open")
        try await server.shutdown()
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
