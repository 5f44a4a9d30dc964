/*
 * Chat page logic. All user-provided text goes through textContent /
 * createTextNode (see el()) — never innerHTML.
 */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const NAME_KEY = 'chat.displayName';
  /**
   * Each membership's resume token (from its join ack), kept for this tab only (sessionStorage): a join
   * with it takes the membership over at once, even while the server still thinks the old connection
   * is up. Never shown, never sent anywhere but in a join.
   */
  const tokenKey = (room, name) => `chat.token.${room}.${name}`;
  function savedToken(room, name) {
    try { return sessionStorage.getItem(tokenKey(room, name)) || undefined; } catch (e) { return undefined; }
  }
  function saveToken(room, name, token) {
    if (typeof token !== 'string') return;
    try { sessionStorage.setItem(tokenKey(room, name), token); } catch (e) { /* storage disabled */ }
  }
  const ROOMS_REFRESH_MS = 10000;
  const ROOM_PAGES = 5; // pages of the room list read per refresh

  /** Create an element; `text` is always set as plain text. */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // ---- connection -------------------------------------------------------

  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new SocketIOClient(`${wsScheme}//${location.host}/socket.io/?EIO=4&transport=websocket`);

  // Current room session: null while in the lobby.
  // {room, password, name, seen: seqs rendered above contiguousSeq (every event up to contiguousSeq
  //  is accounted for, so the set holds only what arrived past a gap), lastSeq,
  //  members: names known (the ack's first ones, then joined/left deltas), memberCount: the server's total,
  //  ready: the room's (re)join is acknowledged on the current connection,
  //  outbox: the room's messages not acknowledged yet, oldest first (see "sending")}
  let session = null;
  let lastCreated = null; // {room, password} from the last create

  const connLabels = {
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Reconnecting…',
    closed: 'Offline',
  };
  let countdownTimer = null;

  function showConnState(state) {
    const box = $('conn-state');
    box.dataset.state = state;
    clearInterval(countdownTimer);
    const render = () => {
      let text = connLabels[state] || state;
      if (state === 'reconnecting' && socket.retryAt > Date.now()) {
        text = `Reconnecting in ${Math.ceil((socket.retryAt - Date.now()) / 1000)}s…`;
      }
      $('conn-text').textContent = text;
    };
    render();
    if (state === 'reconnecting') countdownTimer = setInterval(render, 500);
    const online = state === 'connected';
    // Sending stays possible offline: messages wait in the room's outbox.
    for (const id of ['create-btn', 'join-btn', 'join-created-btn']) $(id).disabled = !online;
    $('message-input').placeholder = online ? 'Write a message…' : 'Offline: messages are sent once reconnected';
  }

  socket.on('state', showConnState);
  // Clicking the status pill while offline retries immediately.
  $('conn-state').addEventListener('click', () => socket.retryNow());
  window.addEventListener('online', () => socket.retryNow());

  socket.on('connect', () => {
    // After a reconnect the server has forgotten our membership: join again.
    if (session) rejoin();
    refreshRooms();
  });

  socket.on('disconnect', () => {
    if (!session) return;
    session.ready = false;
    addNotice('Connection lost. Reconnecting…', 'warn');
  });

  // ---- errors -----------------------------------------------------------

  function showError(message) {
    const box = $('error');
    box.textContent = message;
    box.hidden = false;
  }
  function clearError() {
    $('error').hidden = true;
    $('error').textContent = '';
  }
  $('error').addEventListener('click', clearError);

  /** Error text from a failed ack ({error, code}) or a thrown Error. */
  function describe(failure) {
    if (failure && typeof failure.error === 'string') return failure.error;
    if (failure && failure.message) return failure.message;
    return 'Something went wrong.';
  }

  // ---- name -------------------------------------------------------------

  const nameInput = $('name');
  try { nameInput.value = localStorage.getItem(NAME_KEY) || ''; } catch (e) { /* storage disabled */ }
  nameInput.addEventListener('input', () => {
    try { localStorage.setItem(NAME_KEY, nameInput.value.trim()); } catch (e) { /* ignore */ }
  });

  /** Trimmed display name, or null (with an error shown) if unusable. */
  function requireName() {
    const name = nameInput.value.trim();
    if (!name) {
      showError('Please enter your display name first.');
      nameInput.focus();
      return null;
    }
    return name;
  }

  // ---- room list --------------------------------------------------------

  function timeAgo(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return 'just now';
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return new Date(ms).toLocaleDateString();
  }

  /** The first page of rooms (sorted by name on the server); `next` is set when there are more. */
  function renderRooms(rooms, next) {
    const list = $('room-list');
    list.replaceChildren();
    rooms.sort((a, b) => (b.members - a.members) || (b.created - a.created));
    for (const r of rooms) {
      const li = el('li');
      const btn = el('button', 'room-item');
      btn.type = 'button';
      btn.dataset.room = r.room;
      btn.append(el('span', 'room-name', r.room));
      const meta = el('span', 'room-meta',
        `${r.members} ${r.members === 1 ? 'member' : 'members'} · ${timeAgo(r.created)}`);
      btn.append(meta);
      btn.addEventListener('click', () => {
        $('join-room').value = r.room;
        $('join-password').focus();
      });
      li.append(btn);
      list.append(li);
    }
    if (typeof next === 'string') {
      list.append(el('li', 'room-more', `Showing the first ${rooms.length} rooms. Type a room name to join another.`));
    }
    $('rooms-empty').hidden = rooms.length > 0;
  }

  let roomsLoading = false;
  async function refreshRooms() {
    if (session || roomsLoading) return; // the list is only visible in the lobby
    roomsLoading = true;
    try {
      // The list comes in pages sorted by name ({rooms, next}); read a few pages.
      const rooms = [];
      let after = null;
      for (let page = 0; page < ROOM_PAGES; page += 1) {
        const query = after ? `?after=${encodeURIComponent(after)}` : '';
        const res = await fetch(`/api/rooms${query}`, { headers: { Accept: 'application/json' } });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = await res.json();
        if (Array.isArray(body.rooms)) rooms.push(...body.rooms);
        const next = typeof body.next === 'string' ? body.next : null;
        if (!next || next === after) { after = null; break; }
        after = next;
      }
      renderRooms(rooms, after);
    } catch (err) {
      // Fall back to the socket if HTTP failed but the socket is up.
      if (socket.connected) {
        try {
          const ack = await socket.emit('rooms', {});
          if (ack && Array.isArray(ack.rooms)) renderRooms(ack.rooms, ack.next);
        } catch (e) { /* keep the old list */ }
      }
    } finally {
      roomsLoading = false;
    }
  }
  $('refresh-rooms').addEventListener('click', refreshRooms);
  setInterval(refreshRooms, ROOMS_REFRESH_MS);

  // ---- create -----------------------------------------------------------

  $('create-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError();
    const name = requireName();
    if (!name) return;
    const args = { name };
    const wanted = $('create-room').value.trim();
    if (wanted) args.room = wanted;
    $('create-btn').disabled = true;
    try {
      const ack = await socket.emit('create', args);
      if (!ack || ack.error) return showError(describe(ack));
      lastCreated = { room: ack.room, password: ack.password };
      $('created-room').textContent = ack.room;
      $('created-password').textContent = ack.password;
      $('copy-btn').textContent = 'Copy';
      $('created').hidden = false;
      $('create-room').value = '';
      refreshRooms();
    } catch (err) {
      showError(describe(err));
    } finally {
      $('create-btn').disabled = !socket.connected;
    }
  });

  /** Copy text; navigator.clipboard needs a secure context, so fall back. */
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (e) {
      const area = el('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.append(area);
      area.select();
      let ok = false;
      try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
      area.remove();
      return ok;
    }
  }

  function flash(button, text) {
    const original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = text;
    setTimeout(() => { button.textContent = original; }, 1500);
  }

  $('copy-btn').addEventListener('click', async () => {
    if (!lastCreated) return;
    flash($('copy-btn'), (await copyText(lastCreated.password)) ? 'Copied!' : 'Copy failed');
  });

  $('join-created-btn').addEventListener('click', () => {
    if (lastCreated) join(lastCreated.room, lastCreated.password);
  });

  // ---- join / leave -----------------------------------------------------

  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const room = $('join-room').value.trim();
    const password = $('join-password').value.trim();
    if (!room || !password) {
      showError('Enter both the room name and its password.');
      (room ? $('join-password') : $('join-room')).focus();
      return;
    }
    join(room, password);
  });

  async function join(room, password) {
    clearError();
    const name = requireName();
    if (!name) return;
    $('join-btn').disabled = true;
    try {
      const ack = await socket.emit('join', { room, password, name, token: savedToken(room, name) });
      if (!ack || ack.error) {
        showError(describe(ack));
        if (ack && ack.code === 'wrong_password') $('join-password').select();
        return;
      }
      enterRoom(ack, password, name);
    } catch (err) {
      showError(describe(err));
    } finally {
      $('join-btn').disabled = !socket.connected;
    }
  }

  function enterRoom(ack, password, name) {
    saveToken(ack.room, name, ack.token);
    session = {
      room: ack.room, password, name, seen: new Set(), lastSeq: ack.seq, contiguousSeq: ack.seq,
      rejoinTries: 0, members: [], memberCount: 0, ready: true, outbox: [], flushing: false,
    };
    $('messages').replaceChildren();
    $('room-title').textContent = ack.room;
    $('room-title').title = ack.room;
    document.title = `${ack.room} · Huddle`;
    setMembers(ack);
    const history = ack.history || [];
    for (const msg of history) addMessage(msg, true);
    // A busy room may keep more than the join's reply carried: offer them.
    if (history.length >= EARLIER_OFFER_MIN) showLoadEarlier();
    addNotice(`You joined ${ack.room} as ${name}.`);
    $('lobby').hidden = true;
    $('room-view').hidden = false;
    $('created').hidden = true;
    $('join-password').value = '';
    $('message-input').focus();
    autosize();
  }

  /** How often, and how many times, a rejoin refused with name_in_use or rate_limited is tried again. */
  const REJOIN_RETRY_MS = 3000;
  const REJOIN_TRIES = 20;

  /**
   * After a reconnect: join again with `since`, the last seq up to which we saw every event. The
   * server kept our membership (session grace), so the join takes it over and its history holds
   * exactly the messages we missed; merged by seq, none is shown twice.
   */
  async function rejoin() {
    const { room, password, name, contiguousSeq } = session;
    try {
      const token = savedToken(room, name);
      const ack = await socket.emit('join', { room, password, name, since: contiguousSeq, token });
      if (!session || session.room !== room) return;
      const retried = ack && (ack.code === 'name_in_use' || ack.code === 'rate_limited');
      if (retried && session.rejoinTries < REJOIN_TRIES) {
        // name_in_use: our old connection is not closed on the server yet (e.g. after a network
        // change): it will be within its ping timeout, then the join resumes it. rate_limited: many
        // people behind our address rejoined at once (the broker's per-address join budget).
        if (session.rejoinTries++ === 0) {
          addNotice(ack.code === 'rate_limited' ? 'Many people on your network are rejoining; retrying…'
            : 'Waiting for the server to release your old connection…', 'warn');
        }
        setTimeout(() => { if (session && session.room === room && socket.connected) rejoin(); }, REJOIN_RETRY_MS);
        return;
      }
      if (!ack || ack.error) {
        const unsent = session.outbox.length;
        exitRoom();
        showError(`Could not rejoin ${room}: ${describe(ack)}` +
          (unsent ? ` (${unsent} unsent ${unsent === 1 ? 'message was' : 'messages were'} discarded)` : ''));
        return;
      }
      saveToken(room, name, ack.token);
      session.rejoinTries = 0;
      session.ready = true;
      setMembers(ack);
      for (const msg of ack.history || []) addMessage(msg);
      session.lastSeq = Math.max(session.lastSeq, ack.seq);
      // The history holds every message up to the ack's seq; presence events in between are covered
      // by the member list.
      advanceContiguous(ack.seq);
      if (ack.complete === false) {
        addNotice('Some messages from while you were away could not be recovered.', 'warn gap');
      }
      addNotice('Reconnected.');
      flushOutbox();
    } catch (err) {
      // The connection dropped again; the next 'connect' retries.
    }
  }

  /** Everything up to `seq` is accounted for; then move past every seq seen after it (forgetting them). */
  function advanceContiguous(seq) {
    session.contiguousSeq = Math.max(session.contiguousSeq, seq);
    for (const old of session.seen) if (old <= session.contiguousSeq) session.seen.delete(old);
    while (session.seen.delete(session.contiguousSeq + 1)) session.contiguousSeq += 1;
  }

  function exitRoom() {
    session = null;
    document.title = 'Huddle — private chat rooms';
    $('room-view').hidden = true;
    $('lobby').hidden = false;
    refreshRooms();
  }

  $('leave-btn').addEventListener('click', async () => {
    if (!session) return;
    const room = session.room;
    exitRoom();
    try {
      const ack = await socket.emit('leave', { room });
      if (ack && ack.error && ack.code !== 'not_member') showError(describe(ack));
    } catch (err) { /* if we are offline the server drops us anyway */ }
  });

  $('invite-btn').addEventListener('click', async () => {
    if (!session) return;
    const ok = await copyText(`Room: ${session.room}\nPassword: ${session.password}`);
    flash($('invite-btn'), ok ? 'Copied!' : 'Copy failed');
  });

  // ---- room view --------------------------------------------------------

  // Most member names shown; the count is always the server's total.
  const MAX_SHOWN_MEMBERS = 200;

  /** The member list from a join ack: the first names (capped by the server) and the total. */
  function setMembers(ack) {
    session.members = Array.isArray(ack.members) ? ack.members.filter((m) => typeof m === 'string') : [];
    session.memberCount = typeof ack.count === 'number' ? ack.count : session.members.length;
    renderMembers();
  }

  /** A joined/left delta: the name that came or went and the new total. */
  function applyPresence(ev, joined) {
    if (typeof ev.name === 'string') {
      const at = session.members.indexOf(ev.name);
      if (joined && at < 0) session.members.push(ev.name);
      if (!joined && at >= 0) session.members.splice(at, 1);
    }
    if (typeof ev.count === 'number') session.memberCount = ev.count;
    renderMembers();
  }

  function renderMembers() {
    const list = $('members');
    list.replaceChildren();
    const shown = [...session.members].sort((a, b) => a.localeCompare(b)).slice(0, MAX_SHOWN_MEMBERS);
    for (const m of shown) {
      const li = el('li', 'member');
      li.append(avatar(m), el('span', 'member-name', m));
      if (m === session.name) li.append(el('span', 'you', 'you'));
      list.append(li);
    }
    const total = Math.max(session.memberCount, session.members.length);
    if (total > shown.length) list.append(el('li', 'member-more', `and ${total - shown.length} more`));
    $('member-count').textContent = String(total);
  }

  // A stable pastel colour per name, so people are easy to tell apart.
  function hue(name) {
    let h = 0;
    for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }
  function avatar(name) {
    const a = el('span', 'avatar', (Array.from(name)[0] || '?').toUpperCase());
    a.style.setProperty('--h', hue(name));
    a.setAttribute('aria-hidden', 'true');
    return a;
  }

  function timeOf(ts) {
    return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  const messagesBox = $('messages');
  const nearBottom = () =>
    messagesBox.scrollHeight - messagesBox.scrollTop - messagesBox.clientHeight < 80;

  /**
   * Insert an item in seq order (events can arrive both as a broadcast and
   * through history/acks; seq de-duplicates them). Local notices carry a
   * fractional seq (lastSeq + 0.5) so they stay where they happened.
   */
  function insertBySeq(node, seq) {
    const stick = nearBottom();
    node.dataset.seq = String(seq);
    let after = messagesBox.lastElementChild;
    while (after && Number(after.dataset.seq) > seq) after = after.previousElementSibling;
    if (after) after.after(node); else messagesBox.prepend(node);
    regroup(node);
    regroup(node.nextElementSibling);
    trimList(stick);
    if (stick || node.classList.contains('mine')) messagesBox.scrollTop = messagesBox.scrollHeight;
  }

  // A long session keeps the page light: the list holds at most MAX_SHOWN_ITEMS entries, the oldest
  // dropped while you read the newest (never while you scroll back, up to MAX_HELD_ITEMS), and
  // "Show earlier messages" asks the server for the kept ones before the oldest shown.
  const MAX_SHOWN_ITEMS = 200;
  const MAX_HELD_ITEMS = 1000;
  // The join's history at least this long: the room may keep more than the reply carried.
  const EARLIER_OFFER_MIN = 50;
  // Consecutive messages of one sender within this time are grouped under one name and avatar.
  const GROUP_MS = 5 * 60 * 1000;

  function trimList(atBottom) {
    const limit = atBottom ? MAX_SHOWN_ITEMS : MAX_HELD_ITEMS;
    let trimmed = false;
    let first = messagesBox.querySelector('li:not(.load-earlier)');
    while (messagesBox.children.length > limit && first && !first.classList.contains('pending')) {
      const next = first.nextElementSibling;
      first.remove();
      first = next;
      trimmed = true;
    }
    if (trimmed) {
      regroup(first);
      showLoadEarlier();
    }
  }

  /** Whether `node` continues the message before it: same sender, same kind, close in time. */
  function regroup(node) {
    if (!node || !node.classList.contains('msg') || !node.dataset.ts) return;
    const before = node.previousElementSibling;
    const continues = !!before && before.classList.contains('msg') && !!before.dataset.ts &&
      before.dataset.sender === node.dataset.sender &&
      Math.abs(Number(node.dataset.ts) - Number(before.dataset.ts)) < GROUP_MS;
    node.classList.toggle('grouped', continues);
  }

  /** The button at the top of the list that pages back through the room's kept history. */
  function showLoadEarlier() {
    if (messagesBox.querySelector('.load-earlier')) return;
    const li = el('li', 'load-earlier');
    const button = el('button', 'btn ghost small', 'Show earlier messages');
    button.type = 'button';
    button.addEventListener('click', () => loadEarlier(li, button));
    li.append(button);
    li.dataset.seq = '-1';
    messagesBox.prepend(li);
  }

  async function loadEarlier(li, button) {
    const current = session;
    const oldest = messagesBox.querySelector('li.msg[data-ts]');
    if (!current || !socket.connected) return;
    button.disabled = true;
    button.textContent = 'Loading…';
    try {
      const before = oldest ? Number(oldest.dataset.seq) : current.contiguousSeq + 1;
      const reply = await socket.emit('history', { room: current.room, before });
      if (session !== current) return;
      if (!reply || reply.error) {
        showError(describe(reply));
      } else {
        const top = messagesBox.scrollHeight - messagesBox.scrollTop;
        for (const msg of reply.history || []) addMessage(msg, true);
        messagesBox.scrollTop = messagesBox.scrollHeight - top; // stay where you were reading
        if (!reply.more) {
          li.replaceChildren(el('span', 'notice', 'That is everything this room keeps.'));
          return;
        }
      }
    } catch (err) {
      showError(describe(err));
    }
    button.disabled = false;
    button.textContent = 'Show earlier messages';
  }

  /** Whether a live event was shown already (it may come as a broadcast and in a rejoin's history). */
  function seenBefore(seq) {
    if (typeof seq !== 'number') return false;
    if (seq <= session.contiguousSeq || session.seen.has(seq)) return true;
    session.seen.add(seq);
    session.lastSeq = Math.max(session.lastSeq, seq);
    advanceContiguous(session.contiguousSeq);
    return false;
  }

  /** Whether the list shows the event numbered `seq` (history pages back below contiguousSeq). */
  const shown = (seq) => messagesBox.querySelector(`li[data-seq="${Number(seq)}"]`) !== null;

  /** A message's list item; `status` (an element) replaces the time, e.g. for a pending message. */
  function messageNode(className, name, text, status) {
    const li = el('li', className);
    const head = el('div', 'msg-head');
    head.append(el('span', 'msg-name', name), status);
    const row = el('div', 'msg-row');
    row.append(avatar(name));
    const bubble = el('div', 'msg-bubble');
    bubble.append(head, el('div', 'msg-text', text));
    row.append(bubble);
    li.append(row);
    return li;
  }

  /** Shows `msg` in seq order; `fromHistory`: from a join ack or a history page (deduplicated by the list). */
  function addMessage(msg, fromHistory) {
    if (!session || msg.room !== session.room) return;
    if (fromHistory ? typeof msg.seq !== 'number' || shown(msg.seq) : seenBefore(msg.seq)) return;
    // A message posted over the HTTP API is never shown as ours, and is marked: anyone with the
    // password can post under any name.
    const viaHttp = msg.via === 'http';
    const mine = !viaHttp && msg.name === session.name;
    const time = el('time', 'msg-time', timeOf(msg.ts));
    time.dateTime = new Date(msg.ts).toISOString();
    time.title = new Date(msg.ts).toLocaleString();
    const li = messageNode(mine ? 'msg mine' : viaHttp ? 'msg via-http' : 'msg', msg.name, msg.text, time);
    if (viaHttp) li.querySelector('.msg-name').after(el('span', 'msg-via', 'via HTTP'));
    li.dataset.ts = String(msg.ts);
    li.querySelector('.msg-bubble').title = time.title; // the time of a grouped message, whose head is hidden
    li.dataset.sender = `${viaHttp ? 'http' : mine ? 'mine' : 'member'}:${msg.name}`;
    insertBySeq(li, msg.seq);
  }

  /** A join/leave/status line; without a seq it is local and goes after what we have seen. */
  function addNotice(text, kind, seq) {
    const li = el('li', `notice ${kind || ''}`.trim(), text);
    insertBySeq(li, typeof seq === 'number' ? seq : session.lastSeq + 0.5);
  }

  socket.on('message', (msg) => addMessage(msg));

  socket.on('joined', (ev) => {
    if (!session || ev.room !== session.room || seenBefore(ev.seq)) return;
    applyPresence(ev, true);
    addNotice(`${ev.name} joined`, 'join', ev.seq);
  });

  // A member who lost its connection came back and took its membership over: not an arrival.
  socket.on('resumed', (ev) => {
    if (!session || ev.room !== session.room || seenBefore(ev.seq)) return;
    applyPresence(ev, true);
  });

  // This membership was taken over with its token by another connection (another tab with our token,
  // or this tab after a reconnect the server had not noticed): this one is out of the room.
  socket.on('removed', (ev) => {
    if (!session || ev.room !== session.room) return;
    const { room, name } = session;
    exitRoom();
    showError(`You are in ${room} as ${name} on another connection now; this one left the room.`);
  });

  socket.on('left', (ev) => {
    if (!session || ev.room !== session.room || seenBefore(ev.seq)) return;
    applyPresence(ev, false);
    addNotice(`${ev.name} left`, 'leave', ev.seq);
  });

  // ---- sending ----------------------------------------------------------

  const input = $('message-input');

  // Grow the textarea with its content, up to a few lines.
  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight + 2, 160)}px`;
    input.style.overflowY = input.scrollHeight > 160 ? 'auto' : 'hidden';
  }
  input.addEventListener('input', autosize);

  // Enter sends; Shift+Enter inserts a newline. Ignore Enter while composing (IME).
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('send-form').requestSubmit();
    }
  });

  // Every message goes through the room's outbox: it is shown at once as pending, gets an
  // idempotency id once, and is sent in order, one at a time, while the connection is up and the
  // room's (re)join is acknowledged. A resend (after a drop, a timeout or a transient refusal) carries
  // the same id, so the broker applies it once and answers with the first seq. The pending item goes
  // when the ack gives the seq; the message is then shown by seq like any other (the broadcast may
  // have shown it already).
  const OUTBOX_LIMIT = 100;
  const RESEND_DELAY_MS = 1000;
  /** Refusals worth sending again later with the same id; any other error drops the message. */
  const TRANSIENT_CODES = new Set(['rate_limited', 'broker_unavailable']);

  /** 128 random bits in hex: within the protocol's id rules (1–64 bytes of A-Z a-z 0-9 _ - . :). */
  function newMessageId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function pendingLabel() {
    return socket.connected ? 'Sending…' : 'Waiting for the connection';
  }

  /** Queue a message; false (with a visible error) when the outbox is full. */
  function enqueue(text) {
    if (session.outbox.length >= OUTBOX_LIMIT) {
      showError(`${OUTBOX_LIMIT} messages are already waiting to be sent: ` +
        'wait until the connection is back and they are sent, then send this one.');
      return false;
    }
    const status = el('span', 'msg-status', pendingLabel());
    const node = messageNode('msg mine pending', session.name, text, status);
    node.setAttribute('aria-busy', 'true');
    session.outbox.push({ id: newMessageId(), text, node, status });
    insertBySeq(node, Infinity); // after every confirmed message, in the order typed
    return true;
  }

  function refreshPendingLabels() {
    if (!session) return;
    const label = pendingLabel();
    for (const entry of session.outbox) entry.status.textContent = label;
  }
  socket.on('state', refreshPendingLabels);

  /** Send the outbox in order, each message after the previous one's ack. */
  async function flushOutbox() {
    const current = session;
    if (!current || current.flushing || !current.ready || !socket.connected) return;
    current.flushing = true;
    let retryLater = false;
    try {
      while (session === current && current.ready && socket.connected && current.outbox.length > 0) {
        const entry = current.outbox[0];
        let ack;
        try {
          ack = await socket.emit('message', { room: current.room, text: entry.text, id: entry.id });
        } catch (err) {
          // Dropped connection: the rejoin flushes again. Timeout: try again soon, same id.
          retryLater = socket.connected;
          break;
        }
        if (ack && ack.error && TRANSIENT_CODES.has(ack.code)) { retryLater = true; break; }
        current.outbox.shift();
        entry.node.remove();
        if (session !== current) break;
        if (!ack || ack.error) {
          showError(`Not sent: “${entry.text.slice(0, 40)}”: ${describe(ack)}`);
          continue;
        }
        clearError();
        addMessage({ room: current.room, seq: ack.seq, name: current.name, text: entry.text, ts: Date.now() });
      }
    } finally {
      current.flushing = false;
    }
    if (retryLater) setTimeout(flushOutbox, RESEND_DELAY_MS);
  }

  $('send-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!session) return;
    const text = input.value;
    if (!text.trim()) return;
    if (!enqueue(text)) return;
    input.value = '';
    autosize();
    flushOutbox();
  });

  // ---- start ------------------------------------------------------------

  showConnState('connecting');
  socket.connect();
  refreshRooms();
  if (!nameInput.value) nameInput.focus();
})();
