import ChatWire

/// Picks short, readable room names such as `amber-otter-42`.
public enum RoomNameGenerator {
    /// Names drawn per shard before giving up on finding one of the shard's: a name lands on a given
    /// one of N shards with probability 1/N, so 64·N draws all miss with probability about e^-64.
    public static let drawsPerShard = 64

    static let adjectives = [
        "amber", "brave", "calm", "clever", "cosy", "crisp", "eager", "fuzzy",
        "gentle", "golden", "happy", "jolly", "lucky", "mellow", "misty", "nimble",
        "quiet", "rapid", "rosy", "shiny", "silver", "sunny", "swift", "witty",
    ]
    static let nouns = [
        "badger", "comet", "falcon", "fern", "harbor", "heron", "island", "lantern",
        "maple", "meadow", "otter", "panda", "pebble", "pine", "river", "robin",
        "sparrow", "spruce", "summit", "thistle", "tiger", "valley", "willow", "zephyr",
    ]

    /// A name of the form `adjective-noun-NN` that `shard` owns and that is not yet in use according to
    /// `isTaken`; adds digits when the short forms keep colliding. Names of other shards are drawn again,
    /// at most ``drawsPerShard`` times the shard count in all: nil when every one missed.
    public static func generate(
        using generator: inout some RandomNumberGenerator,
        in shard: Shard = .whole,
        isTaken: (String) -> Bool
    ) -> String? {
        var upperBound = 100
        var otherShards = 0
        while true {
            var collisions = 0
            while collisions < 8 {
                let adjective = adjectives.randomElement(using: &generator) ?? "calm"
                let noun = nouns.randomElement(using: &generator) ?? "otter"
                let number = Int.random(in: 0..<upperBound, using: &generator)
                let name = "\(adjective)-\(noun)-\(number)"
                guard shard.owns(room: name) else {
                    otherShards += 1
                    if otherShards >= drawsPerShard * shard.count { return nil }
                    continue
                }
                if !isTaken(name) { return name }
                collisions += 1
            }
            upperBound = upperBound < 1_000_000_000 ? upperBound * 10 : upperBound
        }
    }
}
