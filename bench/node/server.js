// The Node anchor of roomwire's benchmark: the chat fan-out a Node team would write on the `ws` library.
//
//   node server.js --host 127.0.0.1 --port 0      (prints "node-ws listening on HOST:PORT" once it listens)
//
// It speaks the part of the protocol the benchmark's scenarios use, the way ws's README broadcasts: a member
// joins the room named by the path's last segment and gets a welcome (room, seq, members); the room gets its
// join and, when it goes, its leave (seq, ts, count); every `user_msg` is serialized once with the room's next
// seq and sent to every member without waiting for any of them. No AI, no limits, no slow-consumer policy, no
// Origin check: a lean server, as the `websockets` ceiling is (bench/ceiling.py; docs/benchmarks.md).
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const rooms = new Map(); // room id -> { seq, members: Map<ws, nickname|null> }

function roomOf(url) {
  const path = (url || '/').split('?', 1)[0];
  const id = path.slice(path.lastIndexOf('/') + 1);
  let room = rooms.get(id);
  if (room === undefined) {
    room = { seq: 0, members: new Map() };
    rooms.set(id, room);
  }
  return [id, room];
}

function nicknameOf(url) {
  const query = (url || '').split('?')[1];
  return query === undefined ? null : new URLSearchParams(query).get('nickname');
}

function broadcast(room, frame) {
  for (const member of room.members.keys()) {
    if (member.readyState === 1) member.send(frame);
  }
}

function presence(room, event, nickname) {
  room.seq += 1;
  const frame = { type: 'system', event, nickname: nickname || 'guest', seq: room.seq, ts: Date.now() };
  frame.count = room.members.size;
  if (event === 'leave') frame.reason = 'close';
  broadcast(room, JSON.stringify(frame));
}

const server = http.createServer((request, response) => {
  response.writeHead(426);
  response.end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });

wss.on('connection', (ws, request) => {
  const [id, room] = roomOf(request.url);
  let nickname = nicknameOf(request.url);
  const members = [...room.members.values()];
  room.members.set(ws, nickname);
  ws.send(JSON.stringify({
    type: 'system', event: 'welcome', room: id, seq: room.seq, members: [...members, nickname],
  }));
  presence(room, 'join', nickname);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message === null || message.type !== 'user_msg' || typeof message.content !== 'string') return;
    if (nickname === null && typeof message.nickname === 'string') nickname = message.nickname;
    room.seq += 1;
    const frame = { type: 'user_msg', nickname: nickname || 'guest', content: message.content, seq: room.seq };
    frame.ts = Date.now();
    if (typeof message.id === 'string') frame.id = message.id;
    broadcast(room, JSON.stringify(frame));
  });
  ws.on('error', () => {});
  ws.on('close', () => {
    if (room.members.delete(ws)) presence(room, 'leave', nickname);
    if (room.members.size === 0) rooms.delete(id);
  });
});

server.listen(Number(option('--port', '0')), option('--host', '127.0.0.1'), () => {
  const address = server.address();
  console.log(`node-ws listening on ${address.address}:${address.port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
