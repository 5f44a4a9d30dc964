/// A subset of the confusable skeletons of Unicode TS #39 (*Security Mechanisms*): the Cyrillic and
/// Greek letters that look like Latin ones are replaced by those, so that `аlice` (Cyrillic `а`) and
/// `alice` count as one name in a room (``FieldValidator/nameKey(_:)``). Applied to case-folded text, so
/// the key stays one for every case of a name: a letter maps to the Latin letter its capital or small
/// form imitates (Cyrillic `в` to `b`, for `В`; Greek `ν` to `n`, for `Ν`, so a small `ν` passes for
/// `v` unnoticed). Other letters of those scripts, and Latin names, are unchanged; this is no full
/// skeleton (no digits, no Latin-internal look-alikes such as `l` and `I`).
public enum NameSkeleton {
    /// Case-folded look-alike → the small Latin letter it imitates.
    static let latinLookAlikes: [Unicode.Scalar: Unicode.Scalar] = {
        // Cyrillic, then Greek.
        let from = "авекмнорстухѕіјһԁԛԝүӏ" + "αβεζηικμνορτυχγ"
        let to = "abekmhopctyxsijhdqwyl" + "abezhikmnoptuxy"
        var table: [Unicode.Scalar: Unicode.Scalar] = [:]
        for (scalar, latin) in zip(from.unicodeScalars, to.unicodeScalars) { table[scalar] = latin }
        return table
    }()

    /// Case-folded `text` with each look-alike replaced by its Latin letter.
    public static func latinized(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { latinLookAlikes[$0] != nil }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(latinLookAlikes[scalar] ?? scalar) }
        return String(scalars)
    }
}
