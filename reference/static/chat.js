// roomwire chat page: one WebSocket to /api/v1/ws/chat/{room_id}, room chat and a private AI tab.
//
// Theory of operation. The page is a small state machine around one socket:
//
//   idle --join--> connecting --welcome--> open --close--> waiting --timer--> connecting ...
//                                            \--close 1003/1008/1009--> stopped (no automatic reconnect)
//
// * Every text that came from the wire goes into the DOM through textContent or a Text node, never as HTML
//   (CLIENT-004). No wire text is ever parsed as markup or run as code.
// * Room events (user_msg, join, leave) carry a per-room `seq`; the page remembers the last one it showed and
//   re-enters the room with `since=<that seq>` after a drop, so the server can replay what was missed (CLIENT-003,
//   RECON-004). Events at or below that seq are duplicates and are skipped.
// * Reconnects use exponential backoff with full jitter, base 0.5 s and cap 30 s (CLIENT-003): the n-th retry waits
//   a uniformly random time in [0, min(30 s, 0.5 s * 2^n)). The attempt count resets once a connection has stayed
//   open STABLE_MS past its welcome, so a server that accepts and drops at once still backs off.
// * Every ai_msg gets its own answer bubble, found again by the `id` the server echoes (CLIENT-005); chunks are
//   appended as they arrive (CLIENT-001). The spinner stops on ai_done, on close, and on a local watchdog, so it
//   cannot spin forever even against a server that forgets ai_done.
// * Unknown frame types and fields are ignored (FRAME-003). The page holds no key and asks the server for nothing
//   but the socket and its own static files (SEC-005).
(function () {
  'use strict';

  var ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
  var CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
  var RECONNECT = Object.freeze({ baseMs: 500, capMs: 30000 });
  // CLIENT-003: the server refused what this page sent; reconnecting would only repeat it.
  var NO_RECONNECT_CODES = Object.freeze([1003, 1008, 1009]);
  var STABLE_MS = 5000;
  var PING_EVERY_MS = 25000;
  var PONG_WAIT_MS = 20000;
  var HISTORY_ITEMS = 10;
  var AI_ERROR_CODES = ['ai_busy', 'ai_quota', 'upstream_rate_limited', 'upstream_error', 'upstream_timeout',
    'ai_blocked', 'ai_incomplete'];
  var AI_WAIT_CODES = ['ai_quota', 'upstream_rate_limited'];

  var TEXTS = {
    ko: {
      title: '채팅', joinIntro: '방 이름과 닉네임을 정하고 입장하세요. AI 탭에서는 AI에게 질문할 수 있습니다.',
      roomLabel: '방', nicknameLabel: '닉네임', nicknamePlaceholder: '이름 (선택)', join: '입장',
      leave: '나가기', reconnectNow: '지금 다시 연결', tabChat: '채팅', tabAi: 'AI', aiPending: 'AI 답변 중',
      chatPlaceholder: '메시지를 입력하세요', aiPlaceholder: 'AI에게 물어보세요', send: '보내기', ask: '질문하기',
      roomInvalid: '방 이름은 영문, 숫자, _, - 로 된 1~64자여야 합니다.',
      nicknameInvalid: '닉네임은 1~32자이며 앞뒤 공백이나 제어 문자를 쓸 수 없습니다.',
      connecting: '연결 중…', connected: '연결됨', waiting: '{s}초 후 다시 연결', stopped: '연결 끊김',
      dropped: '연결이 끊어졌습니다. 자동으로 다시 연결합니다.',
      stoppedNotice: '서버가 연결을 닫았습니다 (코드 {code}). 자동으로 다시 연결하지 않습니다.',
      gap: '연결이 끊긴 동안의 메시지 일부를 불러오지 못했습니다.',
      members: '{n}명', you: '나', ai: 'AI', unnamed: '누군가',
      aiInterrupted: '연결이 끊겨 답변이 중단되었습니다.', aiNoAnswer: '답변을 받지 못했습니다.',
      aiTruncated: '답변이 길어 중간에 잘렸습니다.', aiStalled: '답변이 오지 않아 기다리기를 멈췄습니다.',
      waitLeft: '{s}초 남음', waitOver: '이제 다시 시도할 수 있습니다.'
    },
    en: {
      title: 'Chat', joinIntro: 'Pick a room and a nickname. Ask the AI in the AI tab.', roomLabel: 'Room',
      nicknameLabel: 'Nickname', nicknamePlaceholder: 'Name (optional)',
      join: 'Join', leave: 'Leave', reconnectNow: 'Reconnect now', tabChat: 'Chat', tabAi: 'AI',
      aiPending: 'AI is answering', chatPlaceholder: 'Type a message', aiPlaceholder: 'Ask the AI', send: 'Send',
      ask: 'Ask', roomInvalid: 'A room name is 1-64 characters: letters, digits, _ and -.',
      nicknameInvalid: 'A nickname is 1-32 characters, without leading or trailing spaces or control characters.',
      connecting: 'Connecting…', connected: 'Connected', waiting: 'Reconnecting in {s} s', stopped: 'Disconnected',
      dropped: 'Connection lost. Reconnecting automatically.',
      stoppedNotice: 'The server closed the connection (code {code}). Not reconnecting automatically.',
      gap: 'Some messages sent while you were away could not be loaded.',
      members: '{n} here', you: 'me', ai: 'AI', unnamed: 'Someone',
      aiInterrupted: 'The connection dropped; the answer was cut off.', aiNoAnswer: 'No answer.',
      aiTruncated: 'The answer was too long and was cut.', aiStalled: 'No answer came; stopped waiting.',
      waitLeft: '{s} s left', waitOver: 'You can try again now.'
    }
  };

  // ---- pure helpers (exported for tests) -------------------------------------------------------------------

  /** Delay before reconnect attempt `attempt` (0, 1, 2, ...): full jitter, base 0.5 s, cap 30 s (CLIENT-003). */
  function backoffDelay(attempt, random) {
    var ceiling = Math.min(RECONNECT.capMs, RECONNECT.baseMs * Math.pow(2, Math.max(0, attempt)));
    return Math.floor((random === undefined ? Math.random() : random) * ceiling);
  }

  /** Whether a close with this code (and no leave by the user) should be followed by a reconnect. */
  function shouldReconnect(code) {
    return NO_RECONNECT_CODES.indexOf(code) === -1;
  }

  function validNickname(nickname) {
    var length = Array.from(nickname).length;
    return length >= 1 && length <= 32 && !CONTROL_CHARS.test(nickname) && nickname.trim() === nickname;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  function isSeq(value) {
    return typeof value === 'number' && Number.isInteger(value) && value >= 0;
  }

  function text(value) {
    return typeof value === 'string' ? value : '';
  }

  // ---- page state ------------------------------------------------------------------------------------------

  var params = new URLSearchParams(window.location.search);
  var lang = params.get('lang') === 'en' ? 'en' : 'ko';
  var T = TEXTS[lang];
  var el = {};

  var state = {
    room: null, nickname: null, ws: null, phase: 'idle', attempt: 0, lastSeq: null, everWelcomed: false,
    limits: {}, capabilities: [], members: [], welcomeSeq: null, ownJoinPending: false, tab: 'chat', nextId: 1,
    mine: {}, aiPending: [], aiHistory: [], waits: { chat: 0, ai: 0 }, timers: {}, lastRx: 0, pingSentAt: 0
  };

  function $(id) {
    return document.getElementById(id);
  }

  function makeId(prefix) {
    // ids follow ^[A-Za-z0-9._:-]{1,64}$; the random part keeps two tabs from echoing each other's ids.
    return prefix + '-' + (state.nextId++) + '-' + Math.random().toString(36).slice(2, 8);
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = 'roomwire ' + T.title;
    document.querySelectorAll('[data-i18n]').forEach(function (node) {
      node.textContent = T[node.getAttribute('data-i18n')];
    });
    document.querySelectorAll('[data-i18n-placeholder]').forEach(function (node) {
      node.setAttribute('placeholder', T[node.getAttribute('data-i18n-placeholder')]);
    });
    document.querySelectorAll('[data-i18n-label]').forEach(function (node) {
      node.setAttribute('aria-label', T[node.getAttribute('data-i18n-label')]);
    });
  }

  // ---- rendering (textContent only: CLIENT-004) ------------------------------------------------------------

  function node(tag, className, content) {
    var item = document.createElement(tag);
    if (className) item.className = className;
    if (content !== undefined) item.textContent = content;
    return item;
  }

  function clock(ts) {
    var date = typeof ts === 'number' ? new Date(ts) : new Date();
    return date.toLocaleTimeString(lang === 'ko' ? 'ko-KR' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
  }

  function append(logName, item) {
    var log = logName === 'ai' ? el.aiLog : el.chatLog;
    var nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
    log.appendChild(item);
    if (nearBottom) log.scrollTop = log.scrollHeight;
    if (logName !== state.tab) bumpBadge(logName);
    return item;
  }

  function keepScrolled(logName) {
    var log = logName === 'ai' ? el.aiLog : el.chatLog;
    if (log.scrollHeight - log.scrollTop - log.clientHeight < 96) log.scrollTop = log.scrollHeight;
  }

  function bumpBadge(logName) {
    var badge = (logName === 'ai' ? el.tabAi : el.tabChat).querySelector('.badge');
    var count = Number(badge.textContent || '0') + 1;
    badge.textContent = String(count);
    badge.hidden = false;
  }

  function showMessage(frame) {
    var nickname = text(frame.nickname) || T.unnamed;
    var mine = typeof frame.id === 'string' && state.mine[frame.id] === true;
    var item = node('li', 'msg user' + (mine ? ' mine' : ''));
    if (isSeq(frame.seq)) item.setAttribute('data-seq', String(frame.seq));
    var meta = node('div', 'meta');
    meta.appendChild(node('span', 'nick', nickname));
    if (mine) meta.appendChild(node('span', 'you', T.you));
    meta.appendChild(node('time', 'time', clock(frame.ts)));
    item.appendChild(meta);
    item.appendChild(node('div', 'text', text(frame.content)));
    append('chat', item);
  }

  /** A notice line: `content` from the wire, or a text of the page's own (`local`). */
  function showNotice(logName, content, attrs) {
    var item = node('li', 'notice' + (attrs.kind ? ' ' + attrs.kind : ''));
    ['event', 'code', 'reason'].forEach(function (name) {
      if (typeof attrs[name] === 'string') item.setAttribute('data-' + name, attrs[name]);
    });
    if (attrs.local) item.setAttribute('data-local', 'true');
    item.appendChild(node('span', 'text', content));
    return append(logName, item);
  }

  // ---- frames from the server --------------------------------------------------------------------------------

  function onFrame(raw) {
    var frame;
    try {
      frame = JSON.parse(raw);
    } catch (error) {
      return; // not JSON: nothing a person could read (FRAME-001 is the server's duty)
    }
    if (!isObject(frame)) return;
    state.lastRx = Date.now();
    state.pingSentAt = 0;
    if (frame.type === 'system') onSystem(frame);
    else if (frame.type === 'user_msg') { if (freshRoomEvent(frame)) showMessage(frame); }
    else if (frame.type === 'ai_chunk') onAiChunk(frame);
    else if (frame.type === 'ai_done') onAiDone(frame);
    // pong and unknown types: nothing to show (FRAME-003)
  }

  /** True for a room event not shown yet; advances the last seen seq (CLIENT-003's `since`). */
  function freshRoomEvent(frame) {
    if (!isSeq(frame.seq)) return true; // a server without seq (the seed's): show everything
    if (state.lastSeq !== null && frame.seq <= state.lastSeq) return false;
    state.lastSeq = frame.seq;
    return true;
  }

  function onSystem(frame) {
    var content = text(frame.content);
    var event = text(frame.event);
    if (event === 'welcome') return onWelcome(frame);
    if (event === 'join' || event === 'leave') {
      if (!freshRoomEvent(frame)) return;
      if (!isSeq(frame.seq) || state.welcomeSeq === null || frame.seq > state.welcomeSeq) updateMembers(event, frame);
    }
    var code = text(frame.code);
    var forAi = event === 'error' && (AI_ERROR_CODES.indexOf(code) !== -1 || pendingById(frame.id) !== null);
    if (!content) return;
    var item = showNotice(forAi ? 'ai' : 'chat', content, {
      event: event, code: code, reason: text(frame.reason), kind: event === 'error' ? 'error' : ''
    });
    var wait = frame.retry_after;
    if (typeof wait === 'number' && isFinite(wait) && wait > 0) {
      startWait(item, Math.ceil(wait), AI_WAIT_CODES.indexOf(code) !== -1 ? 'ai' : (forAi ? null : 'chat'));
    }
  }

  function onWelcome(frame) {
    var seq = isSeq(frame.seq) ? frame.seq : null;
    var resume = isObject(frame.resume) ? frame.resume : null;
    if (seq !== null) {
      if (state.lastSeq === null || seq < state.lastSeq) {
        // first entry, or the room's counter restarted (a server restart forgets rooms): start from here
        state.lastSeq = seq;
      } else if (!resume) {
        if (seq > state.lastSeq) showNotice('chat', T.gap, { local: true, kind: 'gap' });
        state.lastSeq = seq;
      } else if (resume.complete === false) {
        showNotice('chat', T.gap, { local: true, kind: 'gap' });
      }
    }
    state.limits = isObject(frame.limits) ? frame.limits : {};
    state.capabilities = Array.isArray(frame.capabilities) ? frame.capabilities : [];
    // welcome.members already lists this connection; its own join follows and must not be counted twice.
    state.members = (Array.isArray(frame.members) ? frame.members : []).filter(function (m) {
      return typeof m === 'string';
    });
    state.welcomeSeq = seq;
    state.ownJoinPending = true;
    var maxChars = state.limits.max_content_chars;
    if (typeof maxChars === 'number' && maxChars > 0) el.input.maxLength = maxChars;
    state.everWelcomed = true;
    setPhase('open');
    clearTimeout(state.timers.stable);
    state.timers.stable = setTimeout(function () { state.attempt = 0; }, STABLE_MS);
    renderMembers();
    if (text(frame.content)) showNotice('chat', text(frame.content), { event: 'welcome' });
  }

  function updateMembers(event, frame) {
    var name = text(frame.nickname) || T.unnamed;
    if (event === 'join' && state.ownJoinPending && name === (state.nickname || T.unnamed)) {
      state.ownJoinPending = false;
    } else if (event === 'join') {
      state.members.push(name);
    } else {
      var index = state.members.indexOf(name);
      if (index !== -1) state.members.splice(index, 1);
    }
    renderMembers(typeof frame.count === 'number' ? frame.count : null);
  }

  function renderMembers(count) {
    var n = count === null || count === undefined ? state.members.length : count;
    el.members.textContent = format(T.members, { n: n });
    el.members.title = state.members.join(', ');
  }

  // ---- AI tab ------------------------------------------------------------------------------------------------

  function pendingById(id) {
    if (typeof id !== 'string') return null;
    for (var i = 0; i < state.aiPending.length; i++) if (state.aiPending[i].id === id) return state.aiPending[i];
    return null;
  }

  /** The request an answer frame belongs to: by echoed id, else the oldest pending (a seed server sends no id). */
  function requestFor(frame) {
    return pendingById(frame.id) || (typeof frame.id === 'string' ? null : state.aiPending[0] || null);
  }

  function askAi(question) {
    var id = makeId('ai');
    var history = state.aiHistory.slice(-historyLimit());
    send({ type: 'ai_msg', id: id, content: question, history: history });
    var asked = node('li', 'msg question mine');
    var meta = node('div', 'meta');
    meta.appendChild(node('span', 'nick', state.nickname || T.you));
    meta.appendChild(node('time', 'time', clock()));
    asked.appendChild(meta);
    asked.appendChild(node('div', 'text', question));
    append('ai', asked);
    var bubble = node('li', 'msg ai streaming');
    bubble.setAttribute('data-id', id);
    bubble.setAttribute('data-status', 'pending');
    var head = node('div', 'meta');
    head.appendChild(node('span', 'nick', T.ai));
    bubble.appendChild(head);
    var body = node('div', 'text');
    var typed = document.createTextNode('');
    body.appendChild(typed);
    bubble.appendChild(body);
    append('ai', bubble);
    state.aiPending.push({ id: id, question: question, bubble: bubble, typed: typed, answer: '' });
    armAiWatchdog();
    renderAiBusy();
  }

  function historyLimit() {
    var limit = state.limits.max_history_items;
    return typeof limit === 'number' && limit > 0 ? Math.min(limit, HISTORY_ITEMS) : HISTORY_ITEMS;
  }

  function onAiChunk(frame) {
    var request = requestFor(frame);
    var content = text(frame.content);
    if (!request || !content) return;
    request.typed.appendData(content); // the typing effect: a Text node grows, nothing is parsed (CLIENT-001/004)
    request.answer += content;
    keepScrolled('ai');
    armAiWatchdog();
  }

  function onAiDone(frame) {
    var request = requestFor(frame);
    if (!request) return;
    var status = typeof frame.status === 'string' ? frame.status : 'ok';
    finishAi(request, status, null);
    if ((status === 'ok' || status === 'truncated') && request.answer) {
      var limit = maxChars();
      state.aiHistory.push({ role: 'user', content: clip(request.question, limit) });
      state.aiHistory.push({ role: 'model', content: clip(request.answer, limit) });
      state.aiHistory = state.aiHistory.slice(-HISTORY_ITEMS);
    }
    if (status === 'truncated') showNotice('ai', T.aiTruncated, { local: true });
  }

  function finishAi(request, status, localNote) {
    var index = state.aiPending.indexOf(request);
    if (index !== -1) state.aiPending.splice(index, 1);
    request.bubble.classList.remove('streaming');
    request.bubble.setAttribute('data-status', status);
    if (!request.answer) {
      request.bubble.classList.add('empty');
      request.typed.appendData(localNote || T.aiNoAnswer);
    } else if (localNote) {
      request.bubble.appendChild(node('div', 'note', localNote));
    }
    if (state.aiPending.length === 0) clearTimeout(state.timers.ai);
    renderAiBusy();
  }

  function failAllAi(note, status) {
    state.aiPending.slice().forEach(function (request) { finishAi(request, status, note); });
  }

  /** A server that never ends an answer must not leave the spinner running: give up after ai_timeout_s + 15 s. */
  function armAiWatchdog() {
    clearTimeout(state.timers.ai);
    var seconds = typeof state.limits.ai_timeout_s === 'number' ? state.limits.ai_timeout_s : 30;
    state.timers.ai = setTimeout(function () { failAllAi(T.aiStalled, 'stalled'); }, (seconds + 15) * 1000);
  }

  function renderAiBusy() {
    var busy = state.aiPending.length > 0;
    el.spinner.hidden = !busy;
    el.app.setAttribute('data-ai', busy ? 'pending' : 'idle');
    renderComposer();
  }

  function maxChars() {
    var limit = state.limits.max_content_chars;
    return typeof limit === 'number' && limit > 0 ? limit : 2000;
  }

  function clip(value, limit) {
    var points = Array.from(value);
    return points.length <= limit ? value : points.slice(0, limit).join('');
  }

  // ---- waits (retry_after) -----------------------------------------------------------------------------------

  /** Count a notice's retry_after down in place; while it runs, the composer of `mode` stays disabled. */
  function startWait(item, seconds, mode) {
    var until = Date.now() + seconds * 1000;
    var countdown = node('span', 'countdown');
    item.appendChild(countdown);
    if (mode) state.waits[mode] = Math.max(state.waits[mode], until);
    function tick() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (left > 0) {
        countdown.textContent = format(T.waitLeft, { s: left });
        countdown.setAttribute('data-remaining', String(left));
        renderComposer();
        setTimeout(tick, Math.min(1000, until - Date.now() - (left - 1) * 1000 + 5));
      } else {
        countdown.textContent = T.waitOver;
        countdown.setAttribute('data-remaining', '0');
        item.classList.add('waited');
        renderComposer();
      }
    }
    tick();
  }

  // ---- connection --------------------------------------------------------------------------------------------

  function socketUrl() {
    var scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    var query = new URLSearchParams();
    if (state.nickname) query.set('nickname', state.nickname);
    query.set('lang', lang);
    if (state.everWelcomed && state.lastSeq !== null) query.set('since', String(state.lastSeq));
    return scheme + '//' + window.location.host + '/api/v1/ws/chat/' + encodeURIComponent(state.room) + '?' + query;
  }

  function connect() {
    clearTimers(['retry', 'countdown']);
    setPhase('connecting');
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (error) {
      return scheduleReconnect();
    }
    state.ws = ws;
    ws.onmessage = function (event) {
      if (state.ws === ws && typeof event.data === 'string') onFrame(event.data);
    };
    ws.onclose = function (event) {
      if (state.ws === ws) onClose(event.code);
    };
    state.lastRx = Date.now();
    state.pingSentAt = 0;
  }

  function onClose(code) {
    state.ws = null;
    clearTimers(['stable']);
    failAllAi(T.aiInterrupted, 'interrupted');
    if (state.phase === 'idle') return; // the user left
    if (!shouldReconnect(code)) {
      setPhase('stopped', { code: code });
      showNotice('chat', format(T.stoppedNotice, { code: code }), { local: true, kind: 'error', code: String(code) });
      return;
    }
    if (state.phase === 'open') showNotice('chat', T.dropped, { local: true, kind: 'dropped', code: String(code) });
    scheduleReconnect();
  }

  function scheduleReconnect() {
    var delay = backoffDelay(state.attempt);
    state.attempt += 1;
    var due = Date.now() + delay;
    setPhase('waiting', { delay: delay });
    state.timers.retry = setTimeout(connect, delay);
    (function countdown() {
      var left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      el.status.textContent = format(T.waiting, { s: left });
      if (left > 0) state.timers.countdown = setTimeout(countdown, 250);
    })();
  }

  /** A socket that answers nothing (half-open: Wi-Fi gone, no FIN) is dropped and replaced. */
  function checkAlive() {
    var ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || state.capabilities.indexOf('ping') === -1) return;
    var now = Date.now();
    if (state.pingSentAt && now - state.pingSentAt > PONG_WAIT_MS) {
      state.ws = null;
      ws.onclose = null;
      ws.onmessage = null;
      try { ws.close(4000, 'no pong'); } catch (error) { /* already closing */ }
      onClose(1006);
    } else if (!state.pingSentAt && now - state.lastRx > PING_EVERY_MS) {
      state.pingSentAt = now;
      send({ type: 'ping', id: makeId('ping') });
    }
  }

  function send(frame) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function clearTimers(names) {
    names.forEach(function (name) { clearTimeout(state.timers[name]); });
  }

  function setPhase(phase, detail) {
    state.phase = phase;
    el.status.setAttribute('data-state', phase);
    el.status.setAttribute('data-attempt', String(state.attempt));
    if (detail && typeof detail.delay === 'number') el.status.setAttribute('data-retry-ms', String(detail.delay));
    else el.status.removeAttribute('data-retry-ms');
    if (detail && typeof detail.code === 'number') el.status.setAttribute('data-close-code', String(detail.code));
    var labels = { idle: '', connecting: T.connecting, open: T.connected, stopped: T.stopped, waiting: '' };
    if (phase !== 'waiting') el.status.textContent = labels[phase];
    el.reconnect.hidden = !(phase === 'waiting' || phase === 'stopped');
    renderComposer();
  }

  // ---- user actions ------------------------------------------------------------------------------------------

  function join(room, nickname) {
    if (!ROOM_PATTERN.test(room)) return joinError(T.roomInvalid);
    if (nickname && !validNickname(nickname)) return joinError(T.nicknameInvalid);
    el.joinError.hidden = true;
    state.room = room;
    state.nickname = nickname || null;
    state.lastSeq = null;
    state.everWelcomed = false;
    state.attempt = 0;
    state.members = [];
    el.chatLog.textContent = '';
    el.aiLog.textContent = '';
    el.roomLabel.textContent = '#' + room;
    el.app.setAttribute('data-view', 'room');
    el.joinForm.hidden = true;
    el.roomView.hidden = false;
    el.leave.hidden = false;
    connect();
    el.input.focus();
  }

  function joinError(message) {
    el.joinError.textContent = message;
    el.joinError.hidden = false;
  }

  function leave() {
    var ws = state.ws;
    setPhase('idle');
    clearTimers(['retry', 'countdown', 'stable']);
    state.ws = null;
    failAllAi(T.aiInterrupted, 'interrupted');
    if (ws) ws.close(1000);
    el.app.setAttribute('data-view', 'join');
    el.roomView.hidden = true;
    el.joinForm.hidden = false;
    el.leave.hidden = true;
    el.roomLabel.textContent = '';
  }

  function selectTab(tab) {
    state.tab = tab;
    [['chat', el.tabChat, el.chatLog], ['ai', el.tabAi, el.aiLog]].forEach(function (entry) {
      var active = entry[0] === tab;
      entry[1].setAttribute('aria-selected', active ? 'true' : 'false');
      entry[2].hidden = !active;
      if (active) {
        var badge = entry[1].querySelector('.badge');
        badge.textContent = '';
        badge.hidden = true;
        entry[2].scrollTop = entry[2].scrollHeight;
      }
    });
    el.app.setAttribute('data-tab', tab);
    el.input.setAttribute('placeholder', tab === 'ai' ? T.aiPlaceholder : T.chatPlaceholder);
    renderComposer();
    el.input.focus();
  }

  function renderComposer() {
    if (!el.send) return;
    var open = state.phase === 'open';
    var waiting = state.waits[state.tab] > Date.now();
    var busy = state.tab === 'ai' && state.aiPending.length > 0;
    el.input.disabled = !open;
    el.send.disabled = !open || waiting || busy;
    el.send.textContent = state.tab === 'ai' ? T.ask : T.send;
  }

  function submit() {
    var content = el.input.value;
    if (!content.trim() || el.send.disabled) return;
    if (state.tab === 'ai') {
      askAi(content);
    } else {
      var id = makeId('m');
      state.mine[id] = true;
      if (!send({ type: 'user_msg', id: id, content: content })) return;
    }
    el.input.value = '';
  }

  // ---- start -------------------------------------------------------------------------------------------------

  function start() {
    ['app', 'status', 'room-label', 'join-form', 'room-input', 'nickname-input', 'join-error', 'room-view',
      'tab-chat', 'tab-ai', 'ai-spinner', 'members', 'chat-log', 'ai-log', 'composer', 'message-input',
      'send-button', 'leave-button', 'reconnect-button'].forEach(function (id) {
      el[id.replace(/-(\w)/g, function (whole, c) { return c.toUpperCase(); })] = $(id);
    });
    el.spinner = el.aiSpinner;
    el.input = el.messageInput;
    el.send = el.sendButton;
    el.leave = el.leaveButton;
    el.reconnect = el.reconnectButton;
    applyLanguage();
    el.joinForm.addEventListener('submit', function (event) {
      event.preventDefault();
      join(el.roomInput.value.trim(), el.nicknameInput.value.trim());
    });
    el.composer.addEventListener('submit', function (event) {
      event.preventDefault();
      submit();
    });
    el.input.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault(); // Korean IME: Enter that ends a composition must not send half a syllable
        submit();
      }
    });
    el.tabChat.addEventListener('click', function () { selectTab('chat'); });
    el.tabAi.addEventListener('click', function () { selectTab('ai'); });
    el.leave.addEventListener('click', leave);
    el.reconnect.addEventListener('click', function () {
      if (state.phase === 'stopped') state.attempt = 0;
      if (state.phase === 'waiting' || state.phase === 'stopped') connect();
    });
    window.addEventListener('online', function () {
      if (state.phase === 'waiting') connect(); // the network is back: no need to sit out the backoff
    });
    setInterval(checkAlive, 5000);
    setPhase('idle');
    selectTab('chat');
    var room = params.get('room');
    var nickname = params.get('nickname');
    if (room !== null) el.roomInput.value = room;
    if (nickname !== null) el.nicknameInput.value = nickname;
    if (room !== null) join(room.trim(), (nickname || '').trim());
    else el.roomInput.focus();
  }

  window.RoomwireChat = Object.freeze({
    backoffDelay: backoffDelay,
    shouldReconnect: shouldReconnect,
    validNickname: validNickname,
    RECONNECT: RECONNECT,
    NO_RECONNECT_CODES: NO_RECONNECT_CODES,
    ROOM_PATTERN: ROOM_PATTERN
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
