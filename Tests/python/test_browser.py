"""Browser tests: the real page in headless Chromium (Debian `chromium` + `chromium-driver`).

Screenshots go to <repo>/test-output/screenshots/.
"""
import re
import signal
import time

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from support.browser import (WAIT, by_id, members, messages, open_chat_page, quit_checking_errors, set_value, shown,
                             wait_until)
from support.clients import Member, http_create_room, unique
from support.cluster import chat_cluster
from support.processes import skip_if_external


@pytest.fixture
def new_page(chat_server):
    """new_page(url=None) -> a fresh Chromium (own profile, so own localStorage) at the chat page."""
    drivers = []

    def _new_page(width=1280, height=800, url=None):
        driver = open_chat_page(url or chat_server.url, width, height)
        drivers.append(driver)
        return driver

    yield _new_page
    quit_checking_errors(drivers)


@pytest.fixture
def own_cluster():
    """own_cluster(tag, **chat_cluster options) -> a started two-port cluster of the test's own. Listed
    before new_page, it stops after the pages were closed and their errors checked (a page whose server
    went away first would log its refused reconnects)."""
    made = []

    def _make(tag, **options):
        skip_if_external("kills a gateway of its own cluster")
        made.append(chat_cluster(tag, shared_port=False, **options))
        return made[-1]

    yield _make
    for cluster in made:
        cluster.stop()


def notices(driver):
    return [n.text for n in driver.find_elements(By.CSS_SELECTOR, "#messages .notice")]


def pending(driver):
    """Texts of the messages the user typed that are not acknowledged yet, in order."""
    return [li.find_element(By.CSS_SELECTOR, ".msg-text").text
            for li in driver.find_elements(By.CSS_SELECTOR, "#messages .msg.pending")]


def conn_state(driver):
    return by_id(driver, "conn-state").get_attribute("data-state")


def kill_gateway(server, index, page):
    """kill -9 the gateway serving server.urls[index] (two-port cluster) and wait until `page` notices."""
    server.kill(server.gateways[index])
    wait_until(page, lambda d: conn_state(d) != "connected", "the page did not notice the lost connection")


def restart_gateway(server, index, page):
    """Start the killed gateway again on its port and make `page` reconnect now (not after its backoff)."""
    restarted = server.restart(server.gateways[index])
    server.wait_healthy(restarted.url)
    by_id(page, "conn-state").click()


def assert_only_refused_reconnects(driver):
    """The page logged its refused reconnects while its gateway was down, and no other error (this
    reads the log, so the fixture's check after the test sees only what comes later)."""
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
              and "ERR_CONNECTION_REFUSED" not in e["message"] and "favicon" not in e["message"]]
    assert not errors, f"JavaScript errors in the page: {errors}"


def alice_and_bob_in_a_room(new_page, alice_url, bob_url):
    """Alice's and Bob's pages, each at its gateway's URL, both members of a new room."""
    room, password = http_create_room(alice_url, timeout=WAIT)
    alice, bob = new_page(url=alice_url), new_page(url=bob_url)
    join_via_form(alice, "Alice", room, password)
    join_via_form(bob, "Bob", room, password)
    wait_until(alice, lambda d: members(d) == ["Alice", "Bob"], "Bob never joined")
    return alice, bob


def join_via_form(driver, name, room, password):
    set_value(driver, "name", name)
    set_value(driver, "join-room", room)
    set_value(driver, "join-password", password)
    by_id(driver, "join-btn").click()


def phone_width(driver, on=True):
    if on:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 375, "height": 760, "deviceScaleFactor": 2, "mobile": True})
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def no_horizontal_overflow(driver):
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_two_users_create_join_and_chat(new_page, chat_server, screenshot_dir):
    alice, bob = new_page(), new_page()
    room_name = unique("book-club-")

    # Alice creates a room and sees its password.
    set_value(alice, "name", "Alice")
    set_value(alice, "create-room", room_name)
    by_id(alice, "create-btn").click()
    wait_until(alice, lambda d: shown(d, "created-password"), "no password shown after create")
    password = by_id(alice, "created-password").text
    assert re.fullmatch(r"[A-Za-z0-9]{12}", password), password
    assert by_id(alice, "created-room").text == room_name
    alice.save_screenshot(str(screenshot_dir / "desktop-lobby-created.png"))

    by_id(alice, "join-created-btn").click()
    wait_until(alice, lambda d: shown(d, "room-view") and members(d) == ["Alice"], "Alice not in the room")
    assert by_id(alice, "room-title").text == room_name
    assert not shown(alice, "lobby")

    # Bob joins with the password Alice read.
    join_via_form(bob, "Bob", room_name, password)
    wait_until(bob, lambda d: shown(d, "room-view"), "Bob not in the room")
    wait_until(bob, lambda d: members(d) == ["Alice", "Bob"], "Bob does not see both members")
    wait_until(alice, lambda d: members(d) == ["Alice", "Bob"], "Alice does not see Bob in the member list")
    wait_until(alice, lambda d: any("Bob joined" in n for n in notices(d)), "no join notice for Bob")

    # Alice sends with Enter, Bob with the button; each sees the other's message.
    by_id(alice, "message-input").send_keys("Hi Bob, welcome!", Keys.ENTER)
    wait_until(bob, lambda d: ("Alice", "Hi Bob, welcome!") in messages(d), "Bob did not get Alice's message")
    assert by_id(alice, "message-input").get_attribute("value") == ""
    set_value(bob, "message-input", "Thanks Alice")
    by_id(bob, "send-btn").click()
    wait_until(alice, lambda d: ("Bob", "Thanks Alice") in messages(d), "Alice did not get Bob's message")

    # Markup in a message is shown as literal text, never interpreted.
    by_id(bob, "message-input").send_keys("<b>x</b> <img src=x onerror=alert(1)>", Keys.ENTER)
    wait_until(alice, lambda d: ("Bob", "<b>x</b> <img src=x onerror=alert(1)>") in messages(d),
               "markup message not shown literally")
    for page in (alice, bob):
        assert page.find_elements(By.CSS_SELECTOR, "#messages b, #messages img") == []

    # Every message has a local time (shown in its head, or on hover for one that continues its sender's
    # run), and both see the same conversation.
    wait_until(bob, lambda d: messages(d) == messages(alice), "pages disagree on the conversation")
    times = [t.get_attribute("textContent") for t in alice.find_elements(By.CSS_SELECTOR, "#messages .msg-time")]
    assert len(times) == 3 and all(re.search(r"\d{1,2}:\d{2}", t) for t in times), times
    for grouped in alice.find_elements(By.CSS_SELECTOR, "#messages .msg.grouped .msg-bubble"):
        assert re.search(r"\d{1,2}:\d{2}", grouped.get_attribute("title")), "a grouped message without its time"

    alice.save_screenshot(str(screenshot_dir / "desktop-room.png"))
    phone_width(alice)
    wait_until(alice, no_horizontal_overflow, "room view overflows a 375px wide screen")
    alice.save_screenshot(str(screenshot_dir / "phone-room.png"))
    phone_width(alice, False)

    # A message posted over HTTP under Alice's name is marked "via HTTP" and never shown as hers.
    r = requests.post(f"{chat_server.url}/api/rooms/{room_name}/messages",
                      json={"name": "Alice", "text": "not really Alice"},
                      headers={"Authorization": f"Bearer {password}"}, timeout=WAIT)
    assert r.status_code == 202, r.text
    forged = "#messages .msg.via-http"
    wait_until(alice, lambda d: d.find_elements(By.CSS_SELECTOR, forged), "HTTP post not shown")
    item = alice.find_element(By.CSS_SELECTOR, forged)
    assert "mine" not in item.get_attribute("class").split()
    assert item.find_element(By.CSS_SELECTOR, ".msg-via").text == "via HTTP"
    assert by_id(alice, "member-count").text == "2"

    # Bob leaves: he is back in the lobby and Alice is told.
    by_id(bob, "leave-btn").click()
    wait_until(bob, lambda d: shown(d, "lobby") and not shown(d, "room-view"), "Bob not back in the lobby")
    wait_until(alice, lambda d: any("Bob left" in n for n in notices(d)), "no leave notice for Bob")
    wait_until(alice, lambda d: members(d) == ["Alice"], "Bob still in Alice's member list")


def test_a_membership_taken_over_with_its_token_leaves_the_page_with_a_reason(new_page, chat_server, screenshot_dir):
    room, password = http_create_room(chat_server.url, timeout=WAIT)
    page = new_page()
    join_via_form(page, "Alice", room, password)
    wait_until(page, lambda d: members(d) == ["Alice"], "Alice never joined")
    # The page keeps the membership's resume token for its tab, and nowhere a user sees it.
    token = page.execute_script("return sessionStorage.getItem(arguments[0])", f"chat.token.{room}.Alice")
    assert token and len(token) == 32 and token not in page.page_source
    # Someone with the token (here: a script; usually the same person in another tab) takes it over.
    other = Member(chat_server.url)
    try:
        ack = other.call("join", {"room": room, "password": password, "name": "Alice", "token": token})
        assert "error" not in ack, ack
        wait_until(page, lambda d: shown(d, "error") and "on another connection" in by_id(d, "error").text,
                   "the page did not say why it left the room")
        assert shown(page, "lobby") and not shown(page, "room-view")
        page.save_screenshot(str(screenshot_dir / "desktop-taken-over.png"))
    finally:
        other.close()


def test_wrong_password_shows_server_error(new_page, chat_server, screenshot_dir):
    r = requests.post(f"{chat_server.url}/api/rooms", json={"name": "owner"}, timeout=WAIT)
    room = r.json()["room"]

    # What the server says for a wrong password, asked with the protocol client.
    probe = Member(chat_server.url)
    try:
        expected = probe.sio.call("join", {"room": room, "password": "WrongPass123", "name": "probe"}, timeout=WAIT)
    finally:
        probe.close()
    assert expected["code"] == "wrong_password"

    page = new_page()
    join_via_form(page, "Eve", room, "WrongPass123")
    wait_until(page, lambda d: shown(d, "error") and by_id(d, "error").text.strip(), "no error shown")
    assert expected["error"] in by_id(page, "error").text
    assert shown(page, "lobby") and not shown(page, "room-view")
    page.save_screenshot(str(screenshot_dir / "desktop-wrong-password.png"))

    # Unknown room: also the server's message, and still in the lobby.
    join_via_form(page, "Eve", unique("nope"), "WrongPass123")
    wait_until(page, lambda d: "WrongPass" not in by_id(d, "error").text and by_id(d, "error").text.strip()
               and shown(d, "error"), "no error for an unknown room")
    assert not shown(page, "room-view")


def test_name_is_remembered(new_page, chat_server):
    page = new_page()
    set_value(page, "name", "Grace Hopper")
    page.get(chat_server.url + "/")
    wait_until(page, lambda d: by_id(d, "name").get_attribute("value") == "Grace Hopper",
               "display name not restored after reload")


def test_room_list_and_phone_lobby(new_page, chat_server, screenshot_dir):
    room = unique("standup-")
    page = new_page()
    r = requests.post(f"{chat_server.url}/api/rooms", json={"name": "bot", "room": room}, timeout=WAIT)
    assert r.status_code == 201

    by_id(page, "refresh-rooms").click()
    item = f'#room-list [data-room="{room}"]'
    wait_until(page, lambda d: d.find_elements(By.CSS_SELECTOR, item), "new room not listed after refresh")
    assert room in page.find_element(By.CSS_SELECTOR, item).text
    page.find_element(By.CSS_SELECTOR, item).click()
    assert by_id(page, "join-room").get_attribute("value") == room
    assert page.switch_to.active_element == by_id(page, "join-password")
    page.save_screenshot(str(screenshot_dir / "desktop-lobby.png"))

    phone_width(page)
    set_value(page, "name", "Sam")
    wait_until(page, no_horizontal_overflow, "lobby overflows a 375px wide screen")
    page.save_screenshot(str(screenshot_dir / "phone-lobby.png"))


def test_page_runs_under_its_content_security_policy(new_page, chat_server, screenshot_dir):
    r = requests.get(chat_server.url + "/", timeout=WAIT)
    assert r.headers["Content-Security-Policy"] == \
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    # The page connects its WebSocket and loads its icon, script and styles under that policy; the
    # fixture fails the test on any violation the browser reports.
    page = new_page()
    set_value(page, "name", "Csp")
    set_value(page, "create-room", unique("csp-"))
    by_id(page, "create-btn").click()
    wait_until(page, lambda d: shown(d, "created-password"), "no password shown after create")
    page.save_screenshot(str(screenshot_dir / "desktop-lobby-csp.png"))


def test_a_reconnect_resumes_the_room_without_loss_or_duplicates(own_cluster, new_page):
    """Bob's gateway is killed and comes back: his page rejoins with `since`, shows exactly the
    messages he missed, once, and Alice never sees him leave. When more were sent than the room keeps
    (--history 3), his page says some could not be recovered."""
    server = own_cluster("browser-resume", broker_args=["--history", "3", "--gateway-timeout", "2"])
    alice, bob = alice_and_bob_in_a_room(new_page, alice_url=server.urls[0], bob_url=server.urls[1])

    def say(text):
        by_id(alice, "message-input").send_keys(text, Keys.ENTER)
        wait_until(alice, lambda d: ("Alice", text) in messages(d), f"{text!r} not sent")

    def outage(texts):
        kill_gateway(server, 1, bob)
        for text in texts:
            say(text)
        restart_gateway(server, 1, bob)

    say("before")
    wait_until(bob, lambda d: ("Alice", "before") in messages(d), "Bob never saw the first message")
    outage(["while away 1", "while away 2"])
    wait_until(bob, lambda d: messages(d) == messages(alice), "Bob's page did not catch up exactly",
               timeout=3 * WAIT)
    assert shown(bob, "room-view")
    assert not any("could not be recovered" in n for n in notices(bob)), notices(bob)
    assert sum("Bob joined" in n for n in notices(alice)) == 1, notices(alice)
    assert not any("Bob left" in n for n in notices(alice)), notices(alice)
    assert members(alice) == ["Alice", "Bob"]

    outage([f"gone {i}" for i in range(5)])
    wait_until(bob, lambda d: any("could not be recovered" in n for n in notices(d)),
               "no notice that messages were lost", timeout=3 * WAIT)
    wait_until(bob, lambda d: messages(d)[-3:] == [("Alice", f"gone {i}") for i in (2, 3, 4)],
               "Bob's page lacks the kept tail")
    texts = [t for _, t in messages(bob)]
    assert len(texts) == len(set(texts)), f"duplicated messages: {texts}"
    assert not any("Bob left" in n for n in notices(alice)), notices(alice)
    assert_only_refused_reconnects(bob)


def test_messages_typed_offline_are_sent_once_in_order(own_cluster, new_page, screenshot_dir):
    """Alice's gateway dies while the broker holds her first message (so it is applied but its ack is
    lost) and she types two more while offline. They wait as pending; after the reconnect the page
    resends all three with their idempotency ids: each appears exactly once, in order, for her and for
    Bob, whose own message from meanwhile sits between them by seq."""
    server = own_cluster("browser-outbox")
    broker = server.brokers["a"]
    try:
        alice, bob = alice_and_bob_in_a_room(new_page, alice_url=server.urls[1], bob_url=server.urls[0])
        by_id(alice, "message-input").send_keys("before", Keys.ENTER)
        wait_until(bob, lambda d: ("Alice", "before") in messages(d), "Bob never saw the first message")

        # The broker stops before it answers "lost ack": the gateway forwards it, then dies.
        broker.send_signal(signal.SIGSTOP)
        try:
            by_id(alice, "message-input").send_keys("lost ack", Keys.ENTER)
            wait_until(alice, lambda d: pending(d) == ["lost ack"], "no pending message while waiting")
            time.sleep(0.5)  # the gateway hands it to the broker's socket
            kill_gateway(server, 1, alice)
            for text in ("offline <b>1</b>", "offline 2"):
                by_id(alice, "message-input").send_keys(text, Keys.ENTER)
        finally:
            broker.send_signal(signal.SIGCONT)
        wait_until(alice, lambda d: pending(d) == ["lost ack", "offline <b>1</b>", "offline 2"],
                   "messages typed offline not shown as pending")
        assert alice.find_elements(By.CSS_SELECTOR, "#messages b") == []
        alice.save_screenshot(str(screenshot_dir / "desktop-room-pending.png"))

        # The broker applied the message whose ack was lost: Bob sees it, then says something.
        wait_until(bob, lambda d: ("Alice", "lost ack") in messages(d), "the held message never arrived")
        by_id(bob, "message-input").send_keys("meanwhile", Keys.ENTER)
        wait_until(bob, lambda d: ("Bob", "meanwhile") in messages(d), "Bob's message not sent")

        restart_gateway(server, 1, alice)
        expected = [("Alice", "before"), ("Alice", "lost ack"), ("Bob", "meanwhile"),
                    ("Alice", "offline <b>1</b>"), ("Alice", "offline 2")]
        wait_until(alice, lambda d: not pending(d) and messages(d) == expected,
                   "Alice's page does not show each message once, in order", timeout=3 * WAIT)
        wait_until(bob, lambda d: messages(d) == expected,
                   "Bob's page does not show each message once, in order")
        time.sleep(1)  # nothing more arrives (a late resend would be a duplicate)
        assert messages(alice) == expected and messages(bob) == expected
        assert not any("could not be recovered" in n for n in notices(alice)), notices(alice)
        assert_only_refused_reconnects(alice)
    finally:
        if broker.poll() is None:
            broker.send_signal(signal.SIGCONT)


def test_the_offline_queue_is_bounded(own_cluster, new_page, screenshot_dir):
    """While offline a room queues at most 100 messages; the next is refused with a visible error and
    stays in the input. After the reconnect all 100 go out, in order."""
    server = own_cluster("browser-outbox-full")
    room, password = http_create_room(server.urls[0], timeout=WAIT)
    page = new_page(url=server.urls[0])
    join_via_form(page, "Quinn", room, password)
    wait_until(page, lambda d: shown(d, "room-view"), "Quinn not in the room")
    kill_gateway(server, 0, page)
    page.execute_script("""
        const input = document.getElementById('message-input');
        for (let i = 0; i < 100; i++) {
          input.value = 'queued ' + i;
          document.getElementById('send-form').requestSubmit();
        }""")
    assert pending(page) == [f"queued {i}" for i in range(100)]
    assert not shown(page, "error")
    by_id(page, "message-input").send_keys("one too many", Keys.ENTER)
    wait_until(page, lambda d: shown(d, "error") and "100 messages are already waiting" in by_id(d, "error").text,
               "no error when the queue is full")
    assert by_id(page, "message-input").get_attribute("value") == "one too many"
    assert len(pending(page)) == 100

    restart_gateway(server, 0, page)
    wait_until(page, lambda d: not pending(d), "the queue was not sent", timeout=6 * WAIT)
    assert [t for _, t in messages(page)] == [f"queued {i}" for i in range(100)]
    assert_only_refused_reconnects(page)



def test_a_long_session_keeps_the_list_bounded_groups_senders_and_pages_back(own_cluster, new_page, screenshot_dir):
    """300 messages arrive while a member reads at the bottom: the list keeps at most 200 entries (the
    oldest dropped), consecutive messages of one sender show one name, and "Show earlier messages" brings
    the kept ones back from the server until it says there are no more."""
    server = own_cluster("browser-long", broker_args=("--history", "400"),
                         gateway_args=("--http-burst", "1000", "--http-requests-per-second", "1000"))
    url = server.urls[0]
    room, password = http_create_room(url, timeout=WAIT)
    page = new_page(url=url)
    join_via_form(page, "Rae", room, password)
    wait_until(page, lambda d: shown(d, "room-view"), "Rae not in the room")
    session = requests.Session()
    for i in range(300):
        sender = "Sam" if (i // 5) % 2 == 0 else "Tao"  # runs of five messages per sender
        r = session.post(f"{url}/api/rooms/{room}/messages", json={"name": sender, "text": f"line {i}"},
                         headers={"Authorization": f"Bearer {password}"}, timeout=WAIT)
        assert r.status_code == 202, r.text
    wait_until(page, lambda d: messages(d) and messages(d)[-1][1] == "line 299", "the last message never came",
               timeout=4 * WAIT)
    count = page.execute_script("return document.querySelectorAll('#messages > li').length")
    assert count <= 200, count
    shown_texts = [t for _, t in messages(page)]
    assert "line 0" not in shown_texts and shown_texts[-1] == "line 299"
    # Runs of one sender show its name once: 5 messages, 1 name.
    heads = page.execute_script(
        "return [...document.querySelectorAll('#messages .msg:not(.grouped) .msg-text')].map(e => e.textContent)")
    assert heads[0] == shown_texts[0]  # the first one shown names its sender, wherever its run began
    assert all(int(text.split()[1]) % 5 == 0 for text in heads[1:]), heads
    assert len(heads) <= len(shown_texts) // 5 + 2, heads
    page.save_screenshot(str(screenshot_dir / "desktop-long-session-grouped.png"))

    button = page.find_element(By.CSS_SELECTOR, "#messages .load-earlier button")
    page.execute_script("document.getElementById('messages').scrollTop = 0")
    oldest = shown_texts[0]
    button.click()
    wait_until(page, lambda d: [t for _, t in messages(d)][0] != oldest, "no earlier messages were loaded")
    texts = [t for _, t in messages(page)]
    assert texts == sorted(texts, key=lambda t: int(t.split()[1])), "out of order after paging back"
    assert len(texts) == len(set(texts)), "a message shown twice"
    # Page back to the start of the room's kept history: the server then says there is nothing more.
    for _ in range(10):
        if "That is everything this room keeps." in notices(page):
            break
        more = page.find_elements(By.CSS_SELECTOR, "#messages .load-earlier button")
        if more and more[0].is_enabled():
            more[0].click()
        time.sleep(0.3)
    assert "That is everything this room keeps." in notices(page)
    assert [t for _, t in messages(page)][0] == "line 0"
    page.execute_script("document.getElementById('messages').scrollTop = 0")
    page.save_screenshot(str(screenshot_dir / "desktop-long-session-paged-back.png"))
