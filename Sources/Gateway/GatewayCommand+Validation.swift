import ArgumentParser
import ChatAPI
import ChatWire
import Foundation
import GatewayCore
import ZeroMQ

/// The gateway's option checks, run by swift-argument-parser before ``run()``: each refusal says what
/// to pass instead.
extension GatewayCommand {
    func validate() throws {
        guard (1...Shard.maxCount).contains(shards) else {
            throw ValidationError("--shards must be 1...\(Shard.maxCount)")
        }
        guard
            shards > 1
                || (brokerCommands.count == brokerBroadcasts.count
                    && brokerCommands.count <= BrokerLinkConfiguration.maxBrokers)
        else {
            throw ValidationError(
                "give --broker-commands and --broker-broadcasts once each (one broker) or twice each (the two brokers of a pair, in the same order); got \(brokerCommands.count) and \(brokerBroadcasts.count)"
            )
        }
        if shards > 1 {
            guard brokerCommands.count == brokerBroadcasts.count else {
                throw ValidationError(
                    "give --broker-commands and --broker-broadcasts equally often, in the same shard order; got \(brokerCommands.count) and \(brokerBroadcasts.count)"
                )
            }
            do {
                _ = try ShardRouter.split(brokers, shards: shards)
            } catch {
                throw ValidationError("\(error)")
            }
            guard !connectionStateRecovery else {
                throw ValidationError("\(ShardRouter.Invalid.connectionStateRecovery(shards: shards))")
            }
            guard shardKey != nil else {
                throw ValidationError(
                    "--shards \(shards) needs --shard-key FILE: the cluster's room placement key (scripts/keys writes keys/\(ShardKeyFile.fileName)), the same file for every gateway and broker"
                )
            }
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1...64") }
        guard (0...100).contains(fanOutWindow) else {
            throw ValidationError("--fan-out-window must be 0...100 milliseconds")
        }
        guard pingInterval >= 1, pingTimeout >= 1 else {
            throw ValidationError("--ping-interval and --ping-timeout must be at least 1 second")
        }
        guard maxPayload >= 1024 else { throw ValidationError("--max-payload must be at least 1024 bytes") }
        guard maxOutboundBytes >= 64 * 1024 else {
            throw ValidationError("--max-outbound-bytes must be at least 65536")
        }
        for (flag, seconds) in [
            ("--request-timeout", requestTimeout), ("--connect-timeout", connectTimeout),
            ("--fragment-timeout", fragmentTimeout),
        ]
        where !(seconds >= 0.05 && seconds <= 3600) {
            throw ValidationError("\(flag) must be between 0.05 and 3600 seconds")
        }
        for range in trustedProxy where AddressRange(range) == nil {
            throw ValidationError(
                "--trusted-proxy \(range) is not an address or CIDR range such as 10.0.0.0/8 or 2001:db8::/32"
            )
        }
        guard maxConnectionsPerAddress >= 1, maxConnections >= 1 else {
            throw ValidationError("--max-connections-per-address and --max-connections must be at least 1")
        }
        guard httpRequestsPerSecond > 0, httpBurst >= 1 else {
            throw ValidationError("--http-requests-per-second must be positive and --http-burst at least 1")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError(
                "give --tls-cert and --tls-key together (a PEM certificate chain and its private key) for https://, or neither for plain http://"
            )
        }
        try validateLinks()
        try validateOrigins()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: staticDir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError(
                "--static-dir \(staticDir) is not a folder; run from the repository root or pass its path"
            )
        }
    }

    /// An admin address to bind, and beyond loopback an origin not taken from the request's `Host`.
    func validateOrigins() throws {
        guard ListenAddress(admin) != nil else {
            throw ValidationError(
                "--admin \(admin) is not HOST:PORT: give e.g. 127.0.0.1:9470 ([::1]:9470 for IPv6; port 0 for a free one)"
            )
        }
        if let publicOrigin {
            guard let url = URL(string: publicOrigin), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                url.host != nil, url.path.isEmpty || url.path == "/", url.query == nil
            else {
                throw ValidationError(
                    "--public-origin \(publicOrigin) is not an origin: give the scheme and host (and port) browsers use, e.g. https://chat.example.com"
                )
            }
        }
        let endpoint = host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        guard EndpointPolicy.isLoopback(tcpEndpoint: endpoint) || !allowedOrigin.isEmpty || publicOrigin != nil else {
            throw ValidationError(
                "--host \(host) listens beyond loopback: pass --public-origin with the URL browsers open, e.g. --public-origin https://chat.example.com (or --allowed-origin for each origin allowed), so that WebSockets are not accepted from any site a DNS name points here (the request's Host header is trusted on loopback only)"
            )
        }
    }

    /// The CURVE options go together, and every broker endpoint passes the ``EndpointPolicy``.
    func validateLinks() throws {
        guard (curveSecretKey == nil) == brokerPublicKey.isEmpty else {
            throw ValidationError(
                "--curve-secret-key and --broker-public-key go together: the gateway's key pair and the brokers' public keys it pins (scripts/keys writes both into keys/)"
            )
        }
        let brokerCount = max(brokerCommands.count, 1)
        guard brokerPublicKey.count <= 1 || brokerPublicKey.count == brokerCount else {
            throw ValidationError(
                "give --broker-public-key once (for all brokers) or once per --broker-commands (\(brokerCount), in the same order); got \(brokerPublicKey.count)"
            )
        }
        try validateRoutingID()
        let policy = EndpointPolicy(hasCurveKeys: curveSecretKey != nil, insecureLoopback: insecureLoopback)
        do {
            try policy.check(brokers.flatMap { [$0.commands, $0.broadcasts] })
        } catch {
            throw ValidationError(error.message(keyFlags: "--curve-secret-key and --broker-public-key"))
        }
    }
}
