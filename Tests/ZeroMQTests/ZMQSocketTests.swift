import Foundation
import XCTest

@testable import ZeroMQ

final class ZMQSocketTests: XCTestCase {
    func testDealerRouterRoundTripKeepsFramesAndIdentity() throws {
        let context = try ZMQContext()
        let router = try context.socket(.router)
        let dealer = try context.socket(.dealer)
        try dealer.set(.routingID(Array("gw-1".utf8)))
        try router.bind("inproc://round-trip")
        try dealer.connect("inproc://round-trip")

        try dealer.send([[1, 2, 3], [], Array("hello".utf8)])
        let received = try XCTUnwrap(try router.receive())
        XCTAssertEqual(received, [Array("gw-1".utf8), [1, 2, 3], [], Array("hello".utf8)])

        try router.send([Array("gw-1".utf8), Array("reply".utf8)])
        XCTAssertEqual(try dealer.receive(), [Array("reply".utf8)])
        router.close()
        dealer.close()
    }

    func testAMessageWithTooManyPartsIsDroppedAndCounted() throws {
        let context = try ZMQContext()
        let router = try context.socket(.router)
        let dealer = try context.socket(.dealer)
        try dealer.set(.routingID(Array("gw-1".utf8)))
        try router.bind("inproc://parts")
        try dealer.connect("inproc://parts")
        XCTAssertEqual(router.maxPartsPerMessage, ZMQSocket.defaultMaxPartsPerMessage)
        // The routing id counts as a part on the ROUTER: the limit's own message passes whole.
        try dealer.send((1..<router.maxPartsPerMessage).map { [UInt8($0)] })
        XCTAssertEqual(try router.receive()?.count, router.maxPartsPerMessage)
        try dealer.send((0..<10_000).map { _ in [7] })
        try dealer.send([Array("after".utf8)])
        XCTAssertEqual(try router.receive(), [Array("gw-1".utf8), Array("after".utf8)], "the next message arrives")
        XCTAssertEqual(router.droppedMessages, 1)
        // Not waiting: a dropped message alone gives nil, as when nothing waits.
        try dealer.send((0..<100).map { _ in [] })
        let poller = ZMQPoller([.socket(router)])
        XCTAssertTrue(try poller.poll(timeoutMilliseconds: 5_000).isReadable(router))
        XCTAssertNil(try router.receiveMessage(dontWait: true))
        XCTAssertEqual(router.droppedMessages, 2)
        router.close()
        dealer.close()
    }

    func testSubscriberReceivesOnlyItsPrefix() throws {
        let context = try ZMQContext()
        let publisher = try context.socket(.pub)
        let subscriber = try context.socket(.sub)
        try publisher.bind("inproc://topics")
        try subscriber.connect("inproc://topics")
        try subscriber.subscribe(Array("room/a/".utf8))
        // inproc subscriptions take effect once the subscriber's pipe is attached; give it a moment.
        Thread.sleep(forTimeInterval: 0.05)

        try publisher.send([Array("room/ab/".utf8), [0]])
        try publisher.send([Array("room/a/".utf8), [1]])
        XCTAssertEqual(try subscriber.receive(), [Array("room/a/".utf8), [1]])
        XCTAssertNil(try subscriber.receive(dontWait: true))
        publisher.close()
        subscriber.close()
    }

    func testPollTimesOutAndThenSeesAMessage() throws {
        let context = try ZMQContext()
        let pull = try context.socket(.pull)
        let push = try context.socket(.push)
        try pull.bind("inproc://poll")
        try push.connect("inproc://poll")
        let poller = ZMQPoller([.socket(pull)])
        XCTAssertFalse(try poller.poll(timeoutMilliseconds: 10).isReadable(pull))
        try push.send([[42]])
        XCTAssertTrue(try poller.poll(timeoutMilliseconds: 1000).isReadable(pull))
        XCTAssertEqual(try pull.receive(dontWait: true), [[42]])
        push.close()
        pull.close()
    }

    func testErrorsCarryTheLibraryMessage() throws {
        let context = try ZMQContext()
        let socket = try context.socket(.pub)
        XCTAssertThrowsError(try socket.bind("nonsense://x")) { error in
            let zmqError = error as? ZMQError
            XCTAssertEqual(zmqError?.errno, EPROTONOSUPPORT)
            XCTAssertTrue(String(describing: error).contains("Protocol not supported"), "\(error)")
        }
        socket.close()
        XCTAssertThrowsError(try socket.send([[1]])) { error in
            XCTAssertEqual(error as? ZMQError, .socketClosed(operation: "send"))
        }
    }

    func testNonBlockingReceiveOnEmptySocketReturnsNil() throws {
        let context = try ZMQContext()
        let pull = try context.socket(.pull)
        try pull.bind("inproc://empty")
        XCTAssertNil(try pull.receive(dontWait: true))
        pull.close()
    }
}
