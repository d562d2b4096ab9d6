-- publish: one node's heartbeat. Writes the node and each of its open rooms
-- with an expiry, removes its rooms that closed, and forgets the pending
-- seats whose players the room counts now.
-- ARGV: prefix, node, addr, mode, room size, ttl ms,
--       n, then n x (room id, capacity, players),
--       g, then g room ids that closed,
--       s, then s x (room id, reservation) settled.
-- Returns the directory's clock (Unix ms).
local P, node, addr, mode, size, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = now + ttl
local i = 7
local n = tonumber(ARGV[i]); i = i + 1
local players = 0
for _ = 1, n do
  local rid, cap, pl = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local k = P .. 'room:' .. rid
  local owner = redis.call('HGET', k, 'node')
  if not owner or owner == node then
    redis.call('HSET', k, 'node', node, 'addr', addr, 'mode', mode, 'cap', cap, 'players', pl, 'open', '1')
    redis.call('PEXPIRE', k, ttl)
    redis.call('ZADD', P .. 'rooms', exp, rid)
  end
  players = players + tonumber(pl)
end
local g = tonumber(ARGV[i]); i = i + 1
for _ = 1, g do
  local rid = ARGV[i]
  i = i + 1
  if redis.call('HGET', P .. 'room:' .. rid, 'node') == node then
    redis.call('DEL', P .. 'room:' .. rid, P .. 'pending:' .. rid)
    redis.call('ZREM', P .. 'rooms', rid)
  end
end
local s = tonumber(ARGV[i]); i = i + 1
for _ = 1, s do
  redis.call('ZREM', P .. 'pending:' .. ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('SET', P .. 'alive:' .. node, '1', 'PX', ttl)
local nk = P .. 'node:' .. node
redis.call('HSET', nk, 'addr', addr, 'mode', mode, 'size', size, 'rooms', n, 'players', players)
redis.call('PEXPIRE', nk, ttl)
redis.call('ZADD', P .. 'nodes', exp, node)
redis.call('ZREMRANGEBYSCORE', P .. 'nodes', '-inf', now)
redis.call('ZREMRANGEBYSCORE', P .. 'rooms', '-inf', now)
return now
