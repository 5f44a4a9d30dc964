import ChatWire

/// Sending commands: each goes to the followed broker and waits in ``PendingRequests`` for its reply, or
/// is held until a broker answers this gateway's hello.
extension BrokerLinkState {
    /// Sends `body` to `broker`, waiting for its reply until the request timeout.
    mutating func send(
        _ body: WireCommand.Body,
        connectionID: UInt64,
        client: String = "",
        waiter: Waiter,
        to broker: Int,
        now: UInt64,
        into actions: inout [Action]
    ) {
        var isClientCommand = false
        if case .caller = waiter { isClientCommand = true }
        let command = requests.add(
            body,
            connectionID: connectionID,
            client: client,
            waiter: waiter,
            to: broker,
            epoch: epoch,
            now: now,
            timeout: configuration.requestTimeoutMilliseconds,
            keepsCommand: configuration.isPair && isClientCommand
        )
        actions.append(.send(command, to: broker))
    }

    /// Sends a client command to the followed broker, or holds it until one answers.
    mutating func dispatch(
        _ body: WireCommand.Body,
        connectionID: UInt64,
        client: String,
        caller: Caller?,
        now: UInt64,
        into actions: inout [Action]
    ) {
        guard let followed = followedBroker else {
            holdForHello(body, connectionID: connectionID, client: client, caller: caller, now: now)
            return
        }
        send(
            body,
            connectionID: connectionID,
            client: client,
            waiter: .caller(caller),
            to: followed,
            now: now,
            into: &actions
        )
    }

    /// Holds a client command until a broker answers this gateway's hello (or its deadline passes).
    mutating func holdForHello(
        _ body: WireCommand.Body,
        connectionID: UInt64,
        client: String,
        caller: Caller?,
        now: UInt64
    ) {
        heldForHello.append(
            HeldCommand(
                body: body,
                connectionID: connectionID,
                client: client,
                caller: caller,
                deadline: now + configuration.requestTimeoutMilliseconds
            )
        )
    }

    /// Drops one of the link's own requests (hello, heartbeat, replay) that will not be answered.
    mutating func dropLinkRequest(_ requestID: UInt32) {
        guard let request = requests.remove(requestID) else { return }
        abandonReplay(request, requestID: requestID)
    }
}
