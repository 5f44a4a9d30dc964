/*
 * Minimal Socket.IO v5 client (Engine.IO v4, WebSocket transport only).
 *
 * Supports exactly what the chat server speaks: the default namespace,
 * text packets, events with acks in both directions, heartbeats, and
 * automatic reconnection with exponential backoff. No binary packets.
 *
 *   const sock = new SocketIOClient(url);       // ws(s)://host/socket.io/?EIO=4&transport=websocket
 *   sock.on('message', (msg) => ...);           // server event
 *   sock.on('state', (state) => ...);           // 'connecting' | 'connected' | 'reconnecting' | 'closed'
 *   sock.on('connect', () => ...);              // namespace connected (also after each reconnect)
 *   const ack = await sock.emit('join', {...}); // resolves with the ack's first argument
 *   sock.connect();
 */
(function (global) {
  'use strict';

  // Engine.IO packet types (first character of every WebSocket frame).
  const EIO_OPEN = '0', EIO_CLOSE = '1', EIO_PING = '2', EIO_PONG = '3', EIO_MESSAGE = '4';
  // Socket.IO packet types (first character after the Engine.IO "4").
  const SIO_CONNECT = '0', SIO_DISCONNECT = '1', SIO_EVENT = '2', SIO_ACK = '3', SIO_CONNECT_ERROR = '4';

  class SocketIOClient {
    constructor(url, options = {}) {
      this.url = url;
      this.ackTimeout = options.ackTimeout || 10000;
      this.minDelay = options.minDelay || 500;    // first reconnect delay (ms)
      this.maxDelay = options.maxDelay || 10000;  // backoff cap (ms)
      this.handlers = Object.create(null);
      this.pendingAcks = new Map();  // ack id -> {resolve, reject, timer}
      this.nextAckId = 0;
      this.ws = null;
      this.state = 'idle';
      this.attempts = 0;             // failed attempts since the last successful connect
      this.heartbeatTimer = null;
      this.reconnectTimer = null;
      this.stopped = false;
      this.retryAt = 0;              // when the next reconnect attempt happens (ms since epoch)
    }

    on(event, fn) {
      (this.handlers[event] = this.handlers[event] || []).push(fn);
      return this;
    }

    _fire(event, ...args) {
      for (const fn of this.handlers[event] || []) {
        try { fn(...args); } catch (err) { console.error('handler for', event, 'failed:', err); }
      }
    }

    _setState(state) {
      if (this.state === state) return;
      this.state = state;
      this._fire('state', state);
    }

    get connected() { return this.state === 'connected'; }

    connect() {
      this.stopped = false;
      clearTimeout(this.reconnectTimer);
      if (this.ws) return;
      this._setState(this.attempts > 0 ? 'reconnecting' : 'connecting');
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (err) {
        this._scheduleReconnect();
        return;
      }
      this.ws = ws;
      ws.onmessage = (e) => { if (this.ws === ws) this._onFrame(e.data); };
      ws.onclose = () => { if (this.ws === ws) this._onClosed(); };
      ws.onerror = () => { /* a close event always follows */ };
    }

    /** Close for good (no reconnect). */
    close() {
      this.stopped = true;
      clearTimeout(this.reconnectTimer);
      if (this.ws) {
        this._send(EIO_MESSAGE + SIO_DISCONNECT);
        this.ws.close();
        this._onClosed();
      }
      this._setState('closed');
    }

    /** Reconnect now instead of waiting for the backoff timer. */
    retryNow() {
      if (!this.ws && !this.stopped) this.connect();
    }

    /**
     * Emit an event with an ack. Resolves with the ack's first argument;
     * rejects if not connected, on timeout, or if the connection drops first.
     */
    emit(event, data) {
      return new Promise((resolve, reject) => {
        if (!this.connected) {
          reject(new Error('Not connected to the server. Retrying…'));
          return;
        }
        const id = this.nextAckId++;
        const timer = setTimeout(() => {
          this.pendingAcks.delete(id);
          reject(new Error('The server did not answer in time.'));
        }, this.ackTimeout);
        this.pendingAcks.set(id, { resolve, reject, timer });
        const args = data === undefined ? [event] : [event, data];
        this._send(EIO_MESSAGE + SIO_EVENT + id + JSON.stringify(args));
      });
    }

    _send(frame) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
    }

    // If the server stops pinging for pingInterval + pingTimeout, the link is dead.
    _armHeartbeat() {
      clearTimeout(this.heartbeatTimer);
      if (!this.pingInterval) return;
      this.heartbeatTimer = setTimeout(() => {
        if (this.ws) this.ws.close();
        this._onClosed();
      }, this.pingInterval + this.pingTimeout);
    }

    _onFrame(frame) {
      if (typeof frame !== 'string' || frame.length === 0) return; // binary is not supported
      const type = frame[0];
      if (type === EIO_OPEN) {
        const open = JSON.parse(frame.slice(1));
        this.pingInterval = open.pingInterval || 25000;
        this.pingTimeout = open.pingTimeout || 20000;
        this._armHeartbeat();
        this._send(EIO_MESSAGE + SIO_CONNECT); // join the default namespace
      } else if (type === EIO_PING) {
        this._send(EIO_PONG);
        this._armHeartbeat();
      } else if (type === EIO_CLOSE) {
        this.ws.close();
        this._onClosed();
      } else if (type === EIO_MESSAGE) {
        this._onSocketPacket(frame.slice(1));
      }
    }

    _onSocketPacket(packet) {
      const type = packet[0];
      let i = 1;
      // Optional namespace "/name," — we only use "/", so skip it if present.
      if (packet[i] === '/') {
        const comma = packet.indexOf(',', i);
        i = comma < 0 ? packet.length : comma + 1;
      }
      // Optional ack id: a run of digits before the JSON payload.
      let idText = '';
      while (i < packet.length && packet[i] >= '0' && packet[i] <= '9') idText += packet[i++];
      let payload;
      if (i < packet.length) {
        try { payload = JSON.parse(packet.slice(i)); } catch (err) { return; }
      }

      if (type === SIO_CONNECT) {
        this.sid = payload && payload.sid;
        this.attempts = 0;
        this._setState('connected');
        this._fire('connect');
      } else if (type === SIO_CONNECT_ERROR) {
        this._fire('connect_error', (payload && payload.message) || 'Connection refused');
        if (this.ws) this.ws.close();
      } else if (type === SIO_DISCONNECT) {
        if (this.ws) this.ws.close(); // server kicked us: reconnect like any other drop
      } else if (type === SIO_EVENT && Array.isArray(payload) && payload.length > 0) {
        const [event, ...args] = payload;
        if (idText !== '') {
          // The server wants an ack: give handlers a callback as the last argument.
          args.push((...reply) => this._send(EIO_MESSAGE + SIO_ACK + idText + JSON.stringify(reply)));
        }
        this._fire(event, ...args);
      } else if (type === SIO_ACK && idText !== '') {
        const pending = this.pendingAcks.get(Number(idText));
        if (!pending) return;
        this.pendingAcks.delete(Number(idText));
        clearTimeout(pending.timer);
        pending.resolve(Array.isArray(payload) ? payload[0] : undefined);
      }
    }

    _onClosed() {
      if (!this.ws) return;
      this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
      this.ws = null;
      clearTimeout(this.heartbeatTimer);
      const wasConnected = this.state === 'connected';
      for (const { reject, timer } of this.pendingAcks.values()) {
        clearTimeout(timer);
        reject(new Error('Connection lost before the server answered.'));
      }
      this.pendingAcks.clear();
      if (wasConnected) this._fire('disconnect');
      if (!this.stopped) this._scheduleReconnect();
    }

    _scheduleReconnect() {
      // Exponential backoff with jitter: 0.5s, 1s, 2s, 4s … capped at maxDelay.
      const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempts);
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      this.attempts++;
      this.retryAt = Date.now() + delay;
      this._setState('reconnecting');
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    }
  }

  global.SocketIOClient = SocketIOClient;
})(window);
