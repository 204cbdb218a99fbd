"""Redis keys, channels and the Lua scripts that make each room change atomic across instances.

Keys (`P` is the `prefix` option, `R` a room id, `I` an instance id; room ids are `[A-Za-z0-9_-]`, CONN-002):

    P:room:R:seq        string  the room's last `seq` (INCR)                                   SPEC §5
    P:room:R:history    list    the last `resume_history` encoded events, oldest first          RECON-004
    P:room:R:members    hash    member id -> nickname as JSON (`"ann"` or `null`), all instances  §6
    P:room:R            channel every encoded room event, in `seq` order
    P:instances         zset    instance id -> lease expiry (ms, Redis clock)
    P:instance:I:rooms  set     rooms where instance I has (or had) members: what a reaper visits
    P:reaping           zset    instance id -> claim expiry, while a survivor announces its members
    P:reaped:I          string  "I was reaped": a partitioned instance learns it when it comes back
    P:epoch             string  random token; a different one after reconnecting means Redis lost its data
    P:slots             counter gives each instance its slot (its private range of outage `seq`s)
    P:ping:I            channel the instance's own heartbeat echo, proving its subscriber still hears
    P:ai_budget         zset    admission id -> when admitted (ms, Redis clock): the shared AI budget  LIMIT-005
    P:empty_rooms       zset    room -> when it emptied (ms): forgotten after the ttl or beyond the kept count
    P:history_bytes     hash    room -> bytes of its kept events                                   RECON-005
    P:history_total     string  bytes of every room's kept events (at most the budget)
    P:history_oldest    zset    room -> ts of its oldest kept event: the budget evicts the lowest first

Why Lua: `seq` must rise in the order events are published (CHAT-004), across instances. INCR and PUBLISH in
one script run atomically in Redis, so seq 6 can never be published before seq 5, and the history list gets the
same event in the same step. The scripts build the message around a JSON fragment the publisher serialized once
(`{"s":seq,"t":ts[,"c":count],<fragment>}`); `ts` comes from Redis's clock, so one room has one clock.

Member ids are `I.N`. A member's `leave` is published by whoever removes its field from the members hash (HDEL
returns 1 to exactly one caller), which makes the announcement of a dead instance's members exactly-once even
when several survivors reap at the same time (PRES-005).

Not Redis Cluster: scripts touch keys they compute (instance and room keys together).
"""

from __future__ import annotations

from dataclasses import dataclass

#: `seq`s a room skips after an outage, and how they are shared among instances (see outage.py).
BLOCK = 1 << 32
SLOTS = 1024
SPAN = BLOCK // SLOTS


@dataclass(frozen=True)
class Keys:
    """Key and channel names under one prefix."""

    prefix: str

    def seq(self, room: str) -> str:
        return f"{self.prefix}:room:{room}:seq"

    def history(self, room: str) -> str:
        return f"{self.prefix}:room:{room}:history"

    def members(self, room: str) -> str:
        return f"{self.prefix}:room:{room}:members"

    def channel(self, room: str) -> str:
        return f"{self.prefix}:room:{room}"

    def room_of(self, channel: bytes) -> str | None:
        """The room of a room channel; None for any other channel (an instance's ping)."""
        name = channel.decode()
        prefix = f"{self.prefix}:room:"
        return name[len(prefix) :] if name.startswith(prefix) else None

    def room_keys(self, room: str) -> list[str]:
        """KEYS of every room script: seq, history, members, and the keys of the history's bounds."""
        return [self.seq(room), self.history(room), self.members(room), *self.bounds]

    @property
    def bounds(self) -> list[str]:
        """Empty rooms, history bytes per room, history bytes in all, oldest kept event per room (RECON-005)."""
        p = self.prefix
        return [f"{p}:empty_rooms", f"{p}:history_bytes", f"{p}:history_total", f"{p}:history_oldest"]

    @property
    def instances(self) -> str:
        return f"{self.prefix}:instances"

    @property
    def reaping(self) -> str:
        return f"{self.prefix}:reaping"

    @property
    def epoch(self) -> str:
        return f"{self.prefix}:epoch"

    @property
    def slots(self) -> str:
        return f"{self.prefix}:slots"

    def instance_rooms(self, instance: str) -> str:
        return f"{self.prefix}:instance:{instance}:rooms"

    def reaped(self, instance: str) -> str:
        return f"{self.prefix}:reaped:{instance}"

    def ping(self, instance: str) -> str:
        return f"{self.prefix}:ping:{instance}"

    @property
    def ai_budget(self) -> str:
        return f"{self.prefix}:ai_budget"


#: Shared by the room scripts. KEYS: seq, history, members, then the bounds' keys (`Keys.room_keys`): empty rooms,
#: history bytes per room, history bytes in all, each room's oldest kept event. ARGV starts with the room block
#: (`Store._room_args`): prefix, room, channel, history cap, history budget (bytes, all rooms), empty-room ttl
#: ms, empty rooms kept; a script's own arguments follow from ARGV[A + 1].
#:
#: `emit` assigns the next seq and publishes one event; `keep` adds events to the room's history within the
#: bounds of RECON-005: at most `cap` per room, at most `budget` bytes in all rooms together (the oldest event of
#: any room goes first); a room without members is forgotten (seq and history) once it has been empty for the
#: ttl, or when it is not among the `kept` most recently emptied rooms (`tidy`, a few rooms per call, in every
#: script that changes membership; the ttl is also each empty room's keys' expiry, so an idle Redis frees them too).
_ROOM = r"""
local P, ROOM, CHANNEL = ARGV[1], ARGV[2], ARGV[3]
local CAP, BUDGET, TTL, KEPT = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local A = 7
local clock = redis.call('TIME')
local NOW = clock[1] * 1000 + math.floor(clock[2] / 1000)
local function num(x) return string.format('%.0f', x) end
local function ts_of(entry) return tonumber(string.match(entry, '^{"s":%d+,"t":(%d+)') or '0') end

local function forget_history(room)
  redis.call('DECRBY', KEYS[6], tonumber(redis.call('HGET', KEYS[5], room) or '0'))
  redis.call('HDEL', KEYS[5], room)
  redis.call('ZREM', KEYS[7], room)
end

local function evict_oldest()
  local victim = redis.call('ZRANGE', KEYS[7], 0, 0)[1]
  if not victim then return false end
  local list = P .. ':room:' .. victim .. ':history'
  local entry = redis.call('LPOP', list)
  local head = redis.call('LINDEX', list, 0)
  if entry and head then
    redis.call('HINCRBY', KEYS[5], victim, -#entry)
    redis.call('DECRBY', KEYS[6], #entry)
    redis.call('ZADD', KEYS[7], ts_of(head), victim)
  else
    forget_history(victim)
  end
  return true
end

local function keep(entries)
  if CAP <= 0 or #entries == 0 then return end
  local added = 0
  for i = 1, #entries do added = added + #entries[i] end
  local length = redis.call('RPUSH', KEYS[2], unpack(entries))
  if length > CAP then
    for _, gone in ipairs(redis.call('LPOP', KEYS[2], length - CAP)) do added = added - #gone end
  end
  redis.call('HINCRBY', KEYS[5], ROOM, added)
  local total = redis.call('INCRBY', KEYS[6], added)
  redis.call('ZADD', KEYS[7], ts_of(redis.call('LINDEX', KEYS[2], 0)), ROOM)
  for _ = 1, 256 do
    if total <= BUDGET or not evict_oldest() then break end
    total = tonumber(redis.call('GET', KEYS[6]) or '0')
  end
end

local function drop_room(room)
  redis.call('ZREM', KEYS[4], room)
  redis.call('DEL', P .. ':room:' .. room .. ':seq', P .. ':room:' .. room .. ':history')
  forget_history(room)
end

local function tidy()
  for _, room in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', NOW - TTL, 'LIMIT', 0, 8)) do
    drop_room(room)
  end
  local over = redis.call('ZCARD', KEYS[4]) - KEPT
  if over > 0 then
    for _, room in ipairs(redis.call('ZRANGE', KEYS[4], 0, math.min(over, 8) - 1)) do drop_room(room) end
  end
end

local function occupied()
  redis.call('ZREM', KEYS[4], ROOM)
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
end

local function emit(body, presence, store)
  local seq = redis.call('INCR', KEYS[1])
  local msg = '{"s":' .. num(seq) .. ',"t":' .. num(NOW)
  local count = nil
  if presence then
    count = redis.call('HLEN', KEYS[3])
    msg = msg .. ',"c":' .. count
  end
  msg = msg .. ',' .. body .. '}'
  if store then keep({msg}) end
  if count == 0 then
    redis.call('ZADD', KEYS[4], NOW, ROOM)
    redis.call('PEXPIRE', KEYS[1], TTL)
    redis.call('PEXPIRE', KEYS[2], TTL)
  end
  redis.call('PUBLISH', CHANNEL, msg)
  return msg
end
"""

#: Chat messages of one room published in one step: the next `seq`s, one `ts` (Redis's clock), the history, and
#: one PUBLISH for all of them (a single event as an object, several as an array of objects, in `seq` order).
#: ARGV: the room block, then one body fragment per message. Returns {first seq, ts}.
PUBLISH = (
    _ROOM
    + r"""
local n = #ARGV - A
local last = redis.call('INCRBY', KEYS[1], n)
local head = ',"t":' .. num(NOW) .. ','
local entries = {}
for i = 1, n do
  entries[i] = '{"s":' .. num(last - n + i) .. head .. ARGV[A + i] .. '}'
end
keep(entries)
if n == 1 then
  redis.call('PUBLISH', CHANNEL, entries[1])
else
  redis.call('PUBLISH', CHANNEL, '[' .. table.concat(entries, ',') .. ']')
end
return {last - n + 1, NOW}
"""
)

#: Register a member and publish its `join` in one step, so that the join takes the seq right after the one
#: the welcome names and no other event can fall between them (as in ../memory.py; PRES-007 counts then always
#: match the order of events). KEYS: the room keys, then instance rooms. ARGV: the room block, then member id,
#: nickname JSON, capacity, history wanted ("1"), body fragment, store ("1").
#: Returns {1, join message, members (flat hash), history before the join}, {0} when the room is full
#: (LIMIT-006, all instances), or {2} when the member is registered already (a reconciliation repeated).
JOIN = (
    _ROOM
    + r"""
if redis.call('HEXISTS', KEYS[3], ARGV[A + 1]) == 1 then return {2} end
if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[A + 3]) then return {0} end
redis.call('HSET', KEYS[3], ARGV[A + 1], ARGV[A + 2])
redis.call('SADD', KEYS[8], ROOM)
occupied()
local history = {}
if ARGV[A + 4] == '1' then history = redis.call('LRANGE', KEYS[2], 0, -1) end
local msg = emit(ARGV[A + 5], true, ARGV[A + 6] == '1')
tidy()
return {1, msg, redis.call('HGETALL', KEYS[3]), history}
"""
)

#: A leave: HDEL first, publish only if this caller removed the member, so a member whose instance was reaped
#: meanwhile is not announced twice (PRES-005). ARGV: the room block, then member id, body fragment,
#: store ("1"). Returns the message, or false when someone else announced it.
LEAVE_IF_PRESENT = (
    _ROOM
    + r"""
if redis.call('HDEL', KEYS[3], ARGV[A + 1]) == 0 then return false end
local msg = emit(ARGV[A + 2], true, ARGV[A + 3] == '1')
tidy()
return msg
"""
)

#: Announce every member of an instance (member ids `I.N`) as left, exactly once each.
#: ARGV: the room block, then instance id, reason. Returns how many were announced.
REAP_ROOM = (
    _ROOM
    + r"""
local prefix = ARGV[A + 1] .. '.'
local fields = redis.call('HGETALL', KEYS[3])
local n = 0
for i = 1, #fields, 2 do
  local id = fields[i]
  if string.sub(id, 1, #prefix) == prefix and redis.call('HDEL', KEYS[3], id) == 1 then
    emit('"k":"l","n":' .. fields[i + 1] .. ',"r":"' .. ARGV[A + 2] .. '","m":"' .. id .. '"', true, true)
    n = n + 1
  end
end
tidy()
return n
"""
)

#: This instance has no member left in the room: take the room out of its set (what a reaper visits), unless a
#: member of it joined meanwhile. KEYS: members, instance rooms. ARGV: room, instance id.
FORGET_ROOM = """
local prefix = ARGV[2] .. '.'
for _, id in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(id, 1, #prefix) == prefix then return 0 end
end
return redis.call('SREM', KEYS[2], ARGV[1])
"""

#: Store members' nicknames again (after an outage, or a nickname bound after the join). KEYS: members,
#: instance rooms, empty rooms. ARGV: room, then triples (member id, nickname JSON, "1" = only if still there,
#: "0" = always, after Redis lost its data). Returns the ids that were gone: a survivor announced them as left
#: meanwhile. A room that gets a member back is no longer empty (`tidy` must not forget its seq).
STORE_NICKNAMES = """
redis.call('SADD', KEYS[2], ARGV[1])
local gone = {}
for i = 2, #ARGV, 3 do
  if ARGV[i + 2] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    table.insert(gone, ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    redis.call('ZREM', KEYS[3], ARGV[1])
  end
end
return gone
"""

#: After an outage: lift the counter past every `seq` any instance may have used meanwhile (outage.py).
#: KEYS: seq. ARGV: the highest seq this instance knows, BLOCK. Returns the new counter.
JUMP = """
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local m = math.max(c, tonumber(ARGV[1]))
local j = (math.floor(m / tonumber(ARGV[2])) + 2) * tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%.0f', j))
return string.format('%.0f', j)
"""

#: First registration. KEYS: epoch, slots, instances. ARGV: a fresh epoch token, instance id, lease ms,
#: a slot to keep ("" at first start). Returns {epoch, slot}.
START = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
local slot = tonumber(ARGV[4])
if slot == nil then
  slot = (redis.call('INCR', KEYS[2]) - 1) % 1024
elseif tonumber(redis.call('GET', KEYS[2]) or '0') < slot + 1 then
  redis.call('SET', KEYS[2], slot + 1)
end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[3]), ARGV[2])
return {epoch, slot}
"""

#: Renew the lease. KEYS: instances, reaped marker, epoch. ARGV: instance id, lease ms, epoch token.
#: Returns "lost" (Redis lost its data), "reaped" (survivors announced our members) or "ok".
HEARTBEAT = """
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 'lost' end
if redis.call('EXISTS', KEYS[2]) == 1 or not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'reaped' end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]), ARGV[1])
return 'ok'
"""

#: Claim one instance whose lease (or whose previous reaper's claim) expired. KEYS: instances, reaping.
#: ARGV: own id, claim ms, key prefix, marker ttl ms. Returns {id, rooms...} or false.
CLAIM = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for _, zset in ipairs(KEYS) do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'LIMIT', 0, 8)) do
    if id ~= ARGV[1] then
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
      redis.call('SET', ARGV[3] .. ':reaped:' .. id, '1', 'PX', ARGV[4])
      local rooms = redis.call('SMEMBERS', ARGV[3] .. ':instance:' .. id .. ':rooms')
      table.insert(rooms, 1, id)
      return rooms
    end
  end
end
return false
"""


#: The AI budget of every instance (LIMIT-005, budget.py): a sliding window of admissions, each a unique
#: member scored with Redis's clock (so instance clocks do not matter), kept for a window after the last one.
#: KEYS: budget. ARGV: window ms, budget, new member, then pairs (member, age ms) this instance admitted while
#: Redis was lost, counted first. Returns 0 (admitted) or the whole seconds (at least 1) until one would be.
BUDGET = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
for i = 4, #ARGV, 2 do
  local age = tonumber(ARGV[i + 1])
  if age < window then redis.call('ZADD', KEYS[1], now - age, ARGV[i]) end
end
local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[2])
local wait = 0
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
else
  local edge = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  wait = math.max(1, math.ceil((tonumber(edge[2]) + window - now) / 1000))
end
redis.call('PEXPIRE', KEYS[1], window + 1000)
return wait
"""
