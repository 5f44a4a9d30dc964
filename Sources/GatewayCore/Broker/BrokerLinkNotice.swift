import ChatWire
import Logging

/// Something the broker link's state machine noticed that is worth a log line.
public enum BrokerLinkNotice: Sendable, Equatable {
    /// Why the link stopped following a broker of a pair.
    public enum FailoverReason: Sendable, Equatable {
        /// It answered nothing for ``BrokerLinkConfiguration/failoverAfterMilliseconds``.
        case silent
        /// It answered `not_active`: it is (now) the standby.
        case notActive
        /// A command could not be handed to it (no connection).
        case unreachable
    }

    /// Broadcasts `from...to` of `room` are missing here: they are being replayed.
    case gap(room: String, from: UInt64, to: UInt64)
    /// The broker could not replay what `room` is missing (`code` says why).
    case replayFailed(room: String, code: ChatErrorCode)
    /// A join of `room` waited too long for its subscription to be confirmed and went out anyway.
    case subscriptionUnconfirmed(room: String)
    /// `room`'s sequence numbers started over (it was deleted and created again): the feed now
    /// expects `seq` instead of `previous`.
    case roomRenumbered(room: String, previous: UInt64, seq: UInt64)
    /// The broker answered that it does not know this gateway: it says hello again.
    case gatewayUnknown
    /// The local members of `rooms` rooms are disconnected for `reason`.
    case resynchronising(reason: RoomDisconnectReason, rooms: Int)
    /// The broker could not read a command (a bug on one side).
    case commandUnreadable(message: String)
    /// The link now follows broker `index` (0-based, in the order given) of a pair, the active at `term`.
    case followingBroker(index: Int, term: UInt64)
    /// The followed broker `index` of a pair is given up for `reason`: the link says hello to both,
    /// holding new commands and resending those that wait for a reply once an active answers.
    case failingOver(from: Int, reason: FailoverReason)
    /// Broker `index` answered at `term`, below the highest term seen for the same broker state
    /// (`highestTerm`): a deposed active, whose answer is ignored.
    case fencedReplyIgnored(index: Int, term: UInt64, highestTerm: UInt64)

    /// The log event name.
    public var event: String {
        switch self {
        case .gap: return "gap"
        case .replayFailed: return "replay-failed"
        case .subscriptionUnconfirmed: return "subscription-unconfirmed"
        case .roomRenumbered: return "room-renumbered"
        case .gatewayUnknown: return "gateway-unknown"
        case .resynchronising: return "resynchronising"
        case .commandUnreadable: return "broker-refused-frame"
        case .followingBroker: return "following-broker"
        case .failingOver: return "failing-over"
        case .fencedReplyIgnored: return "fenced-reply-ignored"
        }
    }

    /// How loud the line is.
    public var level: Logger.Level {
        switch self {
        case .gap, .subscriptionUnconfirmed, .followingBroker: return .notice
        case .replayFailed, .roomRenumbered, .gatewayUnknown, .resynchronising, .failingOver, .fencedReplyIgnored:
            return .warning
        case .commandUnreadable: return .error
        }
    }

    /// The line's fields.
    public var metadata: Logger.Metadata {
        switch self {
        case .gap(let room, let from, let to):
            return ["room": "\(room)", "reason": "replaying \(from)...\(to)"]
        case .replayFailed(let room, let code):
            return ["room": "\(room)", "reason": "\(code.code)"]
        case .subscriptionUnconfirmed(let room):
            return ["room": "\(room)"]
        case .roomRenumbered(let room, let previous, let seq):
            return ["room": "\(room)", "reason": "expected seq \(previous), the room now continues at \(seq)"]
        case .gatewayUnknown:
            return ["reason": "the broker does not know this gateway; saying hello again"]
        case .resynchronising(let reason, let rooms):
            return ["reason": "\(reason)", "rooms": "\(rooms)"]
        case .commandUnreadable(let message):
            return ["reason": "\(message)"]
        case .followingBroker(let index, let term):
            return ["broker": "\(index)", "term": "\(term)"]
        case .failingOver(let index, let reason):
            return ["broker": "\(index)", "reason": "\(reason)"]
        case .fencedReplyIgnored(let index, let term, let highestTerm):
            return ["broker": "\(index)", "term": "\(term)", "reason": "a higher term \(highestTerm) is active"]
        }
    }
}
