import ArgumentParser
import ZeroMQ

/// `ChatKeys`: writes CURVE key pairs (`NAME.key`, `NAME.key_secret`) for the ZeroMQ links between
/// brokers and gateways; `scripts/keys` calls it for the usual set of names.
@main
struct ChatKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ChatKeys",
        abstract: "Writes CURVE key pairs for the links between brokers and gateways.",
        discussion: """
            For each NAME writes DIR/NAME.key (the public key, mode 0644: give it to the hosts that \
            allow or pin it) and DIR/NAME.key_secret (both keys, mode 0600: it stays on its host), in \
            the format of CZMQ's zcert and pyzmq's zmq.auth. An existing pair is checked and kept \
            unless --force.
            """
    )

    @Option(help: "Folder to write the key files into (created, mode 0700, if missing).")
    var dir = "keys"

    @Flag(
        help: "Replace existing key files with new keys (every host holding the old public key must get the new one)."
    )
    var force = false

    @Flag(
        help:
            "Also write DIR/cluster.shard_key (mode 0600): the room placement key every gateway and broker of a sharded cluster needs (--shard-key)."
    )
    var shardKey = false

    @Argument(help: "Names of the key pairs, e.g. broker-a gateway-1.")
    var names: [String] = []

    func validate() throws {
        guard !names.isEmpty || shardKey else { throw ValidationError("give at least one NAME, or --shard-key") }
    }

    func run() throws {
        try KeyFolder.create(dir)
        if shardKey {
            let path = "\(dir)/\(ShardKeyFile.fileName)"
            if !force, KeyFolder.exists(path) {
                // Checked, not trusted: its permissions and its form must still be right.
                _ = try ShardKeyFile.read(path: path)
                print("kept    \(path)")
            } else {
                try ShardKeyFile.write(directory: dir, overwrite: force)
                print("wrote   \(path)")
            }
        }
        for name in names {
            let secretPath = "\(dir)/\(name)\(CurveKeyFile.secretSuffix)"
            let publicPath = "\(dir)/\(name)\(CurveKeyFile.publicSuffix)"
            if !force, KeyFolder.exists(secretPath) {
                // Checked, not trusted: its permissions and its pair must still be right.
                let pair = try CurveKeyFile.readKeyPair(path: secretPath)
                if (try? CurveKeyFile.readPublicKey(path: publicPath)) != pair.publicKey {
                    try CurveKeyFile.write(pair, directory: dir, name: name, overwrite: true)
                    print("kept    \(secretPath), wrote \(publicPath) again  public key \(pair.publicKey.z85)")
                } else {
                    print("kept    \(secretPath)  public key \(pair.publicKey.z85)")
                }
                continue
            }
            let pair = try CurveKeyPair.generate()
            try CurveKeyFile.write(pair, directory: dir, name: name, overwrite: force)
            print("wrote   \(publicPath), \(secretPath)  public key \(pair.publicKey.z85)")
        }
    }
}
