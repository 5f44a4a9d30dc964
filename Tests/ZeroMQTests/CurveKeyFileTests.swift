import Foundation
import XCTest

@testable import ZeroMQ

final class CurveKeyFileTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "curve-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    private func write(_ name: String, _ text: String, mode: Int = 0o600) throws -> String {
        let path = folder + "/" + name
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    func testAWrittenPairReadsBackWithOwnerOnlySecret() throws {
        let pair = try CurveKeyPair.generate()
        try CurveKeyFile.write(pair, directory: folder, name: "gateway-1")
        XCTAssertEqual(try mode(folder + "/gateway-1.key_secret"), 0o600)
        XCTAssertEqual(try mode(folder + "/gateway-1.key"), 0o644)
        XCTAssertEqual(try CurveKeyFile.readKeyPair(path: folder + "/gateway-1.key_secret"), pair)
        XCTAssertEqual(try CurveKeyFile.readPublicKey(path: folder + "/gateway-1.key"), pair.publicKey)
        let publicText = try String(contentsOfFile: folder + "/gateway-1.key", encoding: .utf8)
        XCTAssertFalse(publicText.contains("secret-key"), publicText)
        XCTAssertTrue(publicText.contains("curve\n    public-key = \"\(pair.publicKey.z85)\""), publicText)
    }

    func testExistingKeysAreKeptUnlessOverwriting() throws {
        let first = try CurveKeyPair.generate()
        try CurveKeyFile.write(first, directory: folder, name: "broker-a")
        XCTAssertThrowsError(try CurveKeyFile.write(try CurveKeyPair.generate(), directory: folder, name: "broker-a")) {
            XCTAssertEqual($0 as? CurveKeyFileError, .exists(path: self.folder + "/broker-a.key_secret"))
        }
        XCTAssertEqual(try CurveKeyFile.readKeyPair(path: folder + "/broker-a.key_secret"), first)
        let second = try CurveKeyPair.generate()
        try CurveKeyFile.write(second, directory: folder, name: "broker-a", overwrite: true)
        XCTAssertEqual(try CurveKeyFile.readKeyPair(path: folder + "/broker-a.key_secret"), second)
        XCTAssertThrowsError(try CurveKeyFile.write(second, directory: folder, name: "../escape")) {
            XCTAssertEqual($0 as? CurveKeyFileError, .badName("../escape"))
        }
    }

    func testASecretReadableByGroupOrOthersIsRefusedWithTheFix() throws {
        let pair = try CurveKeyPair.generate()
        try CurveKeyFile.write(pair, directory: folder, name: "gw")
        let path = folder + "/gw.key_secret"
        for exposed in [0o640, 0o604, 0o620] {
            try FileManager.default.setAttributes([.posixPermissions: exposed], ofItemAtPath: path)
            XCTAssertThrowsError(try CurveKeyFile.readKeyPair(path: path)) { error in
                XCTAssertEqual(error as? CurveKeyFileError, .secretExposed(path: path, mode: UInt32(exposed)))
                XCTAssertTrue("\(error)".contains("chmod 600 \(path)"), "\(error)")
            }
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        XCTAssertEqual(try CurveKeyFile.readKeyPair(path: path), pair)
    }

    func testAShardKeyFileIsWrittenPrivateAndReadBack() throws {
        let path = try ShardKeyFile.write(directory: folder)
        XCTAssertEqual(try mode(path), 0o600)
        let key = try ShardKeyFile.read(path: path)
        XCTAssertEqual(key.count, ShardKeyFile.byteCount)
        XCTAssertThrowsError(try ShardKeyFile.write(directory: folder)) {
            XCTAssertEqual($0 as? CurveKeyFileError, .exists(path: path))
        }
        XCTAssertNotEqual(try ShardKeyFile.read(path: try ShardKeyFile.write(directory: folder, overwrite: true)), key)
        let written = try write("hand.shard_key", "# a comment\n00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0F\n")
        XCTAssertEqual(try ShardKeyFile.read(path: written), (0..<16).map { UInt8($0) })
        for bad in ["0001", String(repeating: "g", count: 32), String(repeating: "0", count: 34)] {
            let path = try write("bad.shard_key", bad)
            XCTAssertThrowsError(try ShardKeyFile.read(path: path)) {
                XCTAssertEqual($0 as? CurveKeyFileError, .badShardKey(path: path))
            }
        }
        let exposed = try write("open.shard_key", String(repeating: "0", count: 32), mode: 0o644)
        XCTAssertThrowsError(try ShardKeyFile.read(path: exposed)) {
            XCTAssertEqual($0 as? CurveKeyFileError, .secretExposed(path: exposed, mode: 0o644))
        }
    }

    func testPyzmqsCertificatesAreRead() throws {
        // The layout pyzmq's zmq.auth.create_certificates writes (and CZMQ's zcert_save).
        let pair = try CurveKeyPair.generate()
        let text = """
            #   ****  Generated on 2026-11-26 00:00:00 by pyzmq  ****
            #   ZeroMQ CURVE **Secret** Certificate
            #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

            metadata
            curve
                public-key = "\(pair.publicKey.z85)"
                secret-key = "\(pair.secretZ85)"

            """
        XCTAssertEqual(try CurveKeyFile.readKeyPair(path: try write("client.key_secret", text)), pair)
        let windows = text.replacingOccurrences(of: "\n", with: "\r\n")
        XCTAssertEqual(
            try CurveKeyFile.readKeyPair(path: try write("windows.key_secret", windows)),
            pair,
            "CRLF line ends"
        )
    }

    func testBrokenKeyFilesAreRefusedWithTheReason() throws {
        let pair = try CurveKeyPair.generate()
        let other = try CurveKeyPair.generate()
        func refusal(_ text: String, secret: Bool = true) throws -> CurveKeyFileError? {
            let path = try write(secret ? "x.key_secret" : "x.key", text)
            do {
                if secret {
                    _ = try CurveKeyFile.readKeyPair(path: path)
                } else {
                    _ = try CurveKeyFile.readPublicKey(path: path)
                }
                return nil
            } catch {
                return error
            }
        }
        let path = folder + "/x.key_secret"
        XCTAssertEqual(
            try refusal("curve\n    public-key = \"\(pair.publicKey.z85)\"\n"),
            .badField(path: path, field: .secretKey, problem: .missing)
        )
        XCTAssertEqual(
            try refusal("curve\n    secret-key = \"not a key\"\n"),
            .badField(path: path, field: .secretKey, problem: .notZ85)
        )
        XCTAssertEqual(
            try refusal("curve\n    public-key = \"\(other.publicKey.z85)\"\n    secret-key = \"\(pair.secretZ85)\"\n"),
            .mismatchedKeys(path: path)
        )
        XCTAssertEqual(
            try refusal("curve\n    secret-key = \"\(pair.secretZ85)\"\n    secret-key = \"\(other.secretZ85)\"\n"),
            .badField(path: path, field: .secretKey, problem: .repeated)
        )
        // A key outside the curve section does not count.
        XCTAssertEqual(
            try refusal("metadata\n    secret-key = \"\(pair.secretZ85)\"\n"),
            .badField(path: path, field: .secretKey, problem: .missing)
        )
        XCTAssertEqual(
            try refusal(String(repeating: "#", count: CurveKeyFile.maxFileBytes + 1)),
            .tooLarge(path: path, limit: CurveKeyFile.maxFileBytes)
        )
        XCTAssertEqual(
            try refusal(
                "curve\n    public-key = \"\(pair.publicKey.z85)\"\n    secret-key = \"\(pair.secretZ85)\"\n",
                secret: false
            ),
            .secretInPublicFile(path: folder + "/x.key")
        )
        XCTAssertThrowsError(try CurveKeyFile.readKeyPair(path: folder)) {
            XCTAssertEqual($0 as? CurveKeyFileError, .notARegularFile(path: self.folder))
        }
        XCTAssertThrowsError(try CurveKeyFile.readKeyPair(path: folder + "/missing.key_secret")) {
            guard case .unreadable = $0 as? CurveKeyFileError else { return XCTFail("\($0)") }
        }
    }

    func testAnAllowListHoldsEveryPublicKeyFileOfItsFolder() throws {
        let gateway = try CurveKeyPair.generate()
        let broker = try CurveKeyPair.generate()
        try CurveKeyFile.write(gateway, directory: folder, name: "gateway-1")
        try CurveKeyFile.write(broker, directory: folder, name: "broker-b")
        _ = try write(".hidden.key", "curve\n    public-key = \"\(try CurveKeyPair.generate().publicKey.z85)\"\n")
        _ = try write("notes.txt", "not a key")
        let keys = try CurveKeyFile.readAllowList(directory: folder)
        XCTAssertEqual(
            keys,
            [gateway.publicKey: "gateway-1", broker.publicKey: "broker-b"],
            "the .key_secret files, hidden files and others are skipped"
        )

        let empty = folder + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try CurveKeyFile.readAllowList(directory: empty)) {
            XCTAssertEqual($0 as? CurveKeyFileError, .emptyAllowList(directory: empty))
        }
        _ = try write(
            "stray.key",
            "curve\n    public-key = \"\(gateway.publicKey.z85)\"\n    secret-key = \"\(gateway.secretZ85)\"\n"
        )
        XCTAssertThrowsError(try CurveKeyFile.readAllowList(directory: folder)) {
            XCTAssertEqual($0 as? CurveKeyFileError, .secretInPublicFile(path: self.folder + "/stray.key"))
        }
    }
}
