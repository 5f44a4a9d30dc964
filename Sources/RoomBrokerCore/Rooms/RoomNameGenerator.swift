/// Picks short, readable room names such as `amber-otter-42`.
public enum RoomNameGenerator {
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

    /// A name of the form `adjective-noun-NN` not yet in use according to `isTaken`;
    /// adds digits when the short forms keep colliding.
    public static func generate(using generator: inout some RandomNumberGenerator, isTaken: (String) -> Bool) -> String {
        var upperBound = 100
        while true {
            for _ in 0..<8 {
                let adjective = adjectives.randomElement(using: &generator) ?? "calm"
                let noun = nouns.randomElement(using: &generator) ?? "otter"
                let number = Int.random(in: 0..<upperBound, using: &generator)
                let name = "\(adjective)-\(noun)-\(number)"
                if !isTaken(name) { return name }
            }
            upperBound = upperBound < 1_000_000_000 ? upperBound * 10 : upperBound
        }
    }
}
