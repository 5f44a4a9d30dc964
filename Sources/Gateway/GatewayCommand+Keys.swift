import ArgumentParser
import ChatWire
import Foundation
import GatewayCore
import Logging
import ZeroMQ

extension GatewayCommand {
    /// The name of this gateway's CURVE key, as the brokers' allow-list names its public key
    /// (`NAME.key`): `--curve-key-name`, or its secret key file's name without `.key_secret`; nil
    /// without CURVE.
    var keyName: String? {
        guard let curveSecretKey else { return nil }
        if let curveKeyName { return curveKeyName }
        let file = curveSecretKey.split(separator: "/").last.map(String.init) ?? curveSecretKey
        return file.hasSuffix(CurveKeyFile.secretSuffix) ? String(file.dropLast(CurveKeyFile.secretSuffix.count)) : file
    }

    /// This gateway's routing id towards the brokers: `--gateway-id`, or one unique per process, which
    /// with CURVE starts with the key's name (`gateway-1/gw-…`), since the brokers accept a key only
    /// under routing ids bound to its name (``RoutingIDBinding``).
    var routingID: String {
        if let gatewayID { return gatewayID }
        let random = BrokerLinkConfiguration.randomGatewayID()
        return keyName.map { RoutingIDBinding.routingID(name: $0, suffix: random) } ?? random
    }

    /// With CURVE, a `--gateway-id` must be bound to the key's name, or the brokers refuse the link.
    func validateRoutingID() throws {
        if let curveKeyName {
            guard curveSecretKey != nil, !curveKeyName.isEmpty, !curveKeyName.utf8.contains(RoutingIDBinding.separator)
            else {
                throw ValidationError(
                    "--curve-key-name goes with --curve-secret-key and is a key file's name without .key (no /), e.g. gateway-1"
                )
            }
        }
        guard let gatewayID, let name = keyName else { return }
        guard RoutingIDBinding.isBound(Array(gatewayID.utf8), to: name) else {
            throw ValidationError(
                "--gateway-id \(gatewayID) is not bound to the CURVE key \(name): give \(name) or \(name)/SOMETHING (the brokers refuse other routing ids for this key), or leave it out"
            )
        }
    }
}

extension GatewayCommand {
    /// The `--shard-key` file's key (with several shards), logged by its fingerprint only.
    func loadShardKey(logger: Logger) throws -> ShardKey? {
        guard shards > 1, let shardKey else { return nil }
        guard let key = ShardKey(bytes: try ShardKeyFile.read(path: shardKey)) else {
            throw CurveKeyFileError.badShardKey(path: shardKey)
        }
        logger.info("shards", metadata: ["count": "\(shards)", "key": "\(key.fingerprint)"])
        return key
    }

    /// The keys of the CURVE options, loaded; nil without them. Its errors say what to do.
    func loadCurve() throws(CurveKeyFileError) -> CurveClientKeys? {
        guard let curveSecretKey else { return nil }
        var serverKeys: [CurvePublicKey] = []
        for path in brokerPublicKey { serverKeys.append(try CurveKeyFile.readPublicKey(path: path)) }
        return CurveClientKeys(keyPair: try CurveKeyFile.readKeyPair(path: curveSecretKey), serverKeys: serverKeys)
    }

    func loadTLS(logger: Logger) throws -> GatewayTLS? {
        guard let tlsCert, let tlsKey else { return nil }
        let tls = try GatewayTLS(certificatePath: tlsCert, keyPath: tlsKey)
        logger.info(
            "tls",
            metadata: [
                "cert": "\(tlsCert)", "valid-until": "\(tls.notValidAfter)", "sha256": "\(tls.current.fingerprint)",
                "reload": "kill -HUP <pid>",
            ]
        )
        if tls.notValidAfter < Date() {
            logger.warning(
                "tls-certificate-expired",
                metadata: ["cert": "\(tlsCert)", "valid-until": "\(tls.notValidAfter)"]
            )
        }
        return tls
    }

    /// Logs once what to check when no broker has answered 5 s after the start: a refused CURVE key
    /// shows nothing else on this side (the broker logs `link-refused`).
    static func hintIfTheBrokerIsSilent(link: any BrokerClient, curve: CurveClientKeys?, logger: Logger) {
        Task {
            try await Task.sleep(for: .seconds(5))
            guard !link.isBrokerReachable else { return }
            var fields: Logger.Metadata = [
                "reason": "check --broker-commands and --broker-broadcasts, and that the broker runs"
            ]
            if let curve {
                fields["reason"] =
                    "check the endpoints, that the broker's --authorized-keys folder holds this gateway's public key, and that --broker-public-key is the broker's NAME.key"
                fields["curve"] = "\(curve.keyPair.publicKey.z85)"
            }
            logger.warning("broker-silent", metadata: fields)
        }
    }
}
