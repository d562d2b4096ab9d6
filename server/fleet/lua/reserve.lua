-- reserve: a join by room id anywhere in the fleet. Checks that the room is
-- listed on a live node and, for a player, that a seat is free counting
-- pending reservations; then reserves it as place.lua does.
-- ARGV: prefix, self, room id, reservation ttl ms, token, spectate ('1'),
--       local only ('1'); and when this node hosts the room: its addr,
--       mode, capacity, players and the node ttl ms, to list it at once if
--       no heartbeat has yet (a room created a moment ago).
-- Returns {status, node, addr, create, capacity, expires ms} with status
-- 'ok', 'notfound', 'full' or 'elsewhere' (local only, and another node
-- hosts it).
local P, self, rid, rttl, token, spectate, localonly =
  ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = now + rttl
local score = redis.call('ZSCORE', P .. 'rooms', rid)
local h = redis.call('HMGET', P .. 'room:' .. rid, 'node', 'addr', 'cap', 'players', 'open')
if (not score or tonumber(score) < now or not h[1]) and ARGV[8] then
  local alive = redis.call('ZSCORE', P .. 'nodes', self)
  if alive and tonumber(alive) >= now then
    local k = P .. 'room:' .. rid
    redis.call('HSET', k, 'node', self, 'addr', ARGV[8], 'mode', ARGV[9], 'cap', ARGV[10], 'players', ARGV[11], 'open', '1')
    redis.call('PEXPIRE', k, ARGV[12])
    score = now + tonumber(ARGV[12])
    redis.call('ZADD', P .. 'rooms', score, rid)
    h = {self, ARGV[8], ARGV[10], ARGV[11], '1'}
  end
end
if not score or tonumber(score) < now or not h[1] then
  return {'notfound'}
end
local n = h[1]
local alive = redis.call('ZSCORE', P .. 'nodes', n)
if not alive or tonumber(alive) < now then
  return {'notfound'}
end
if localonly and n ~= self then
  return {'elsewhere', n, h[2]}
end
local create = h[5] ~= '1' and '1' or '0'
if spectate ~= '1' then
  local pk = P .. 'pending:' .. rid
  redis.call('ZREMRANGEBYSCORE', pk, '-inf', now)
  if tonumber(h[4]) + redis.call('ZCARD', pk) >= tonumber(h[3]) then
    return {'full', n, h[2]}
  end
  redis.call('ZADD', pk, exp, token)
  redis.call('PEXPIRE', pk, rttl)
end
if n ~= self then
  redis.call('SET', P .. 'seat:' .. token,
    rid .. '\n' .. n .. '\n' .. spectate .. '\n' .. create .. '\n' .. h[3] .. '\n' .. exp, 'PX', rttl + 60000)
end
return {'ok', n, h[2], create, h[3], tostring(exp)}
