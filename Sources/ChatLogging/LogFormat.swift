/// How log events are written: one readable line each (`text`, the default) or one JSON object per
/// line for log collectors (`json`). Both escape the same characters, and neither ever holds a
/// password (no event carries one).
public enum LogFormat: String, CaseIterable, Sendable {
    /// `2026-11-25T11:24:03.120Z INFO  broker join room=lobby name=ann`
    case text
    /// `{"time":"2026-11-25T11:24:03.120Z","level":"info","label":"broker","message":"join","metadata":{"room":"lobby","name":"ann"}}`
    case json
}
