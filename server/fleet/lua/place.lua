-- place: a fleet-wide quick join. Picks the open room with the most seats
-- taken (players plus pending reservations) that still has a free seat,
-- among live nodes of the mode (ties: the smallest id); when none has one,
-- opens a room on the least loaded live node (ties: this node, then the
-- smallest id). Reserves the seat: a pending entry counts it until the
-- host's heartbeat counts the player, and, when the room is on another
-- node, a single-use reservation that node redeems.
-- ARGV: prefix, self, mode, reservation ttl ms, token, id for a new room,
--       local only ('1': only this node's rooms).
-- Returns {} when no node takes players, else
--   {room id, node, addr, create ('1': the room is not open yet), capacity, expires ms}.
local P, self, mode, rttl, token, newid, localonly =
  ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = now + rttl
redis.call('ZREMRANGEBYSCORE', P .. 'nodes', '-inf', now)
redis.call('ZREMRANGEBYSCORE', P .. 'rooms', '-inf', now)

local load, addrs, sizes = {}, {}, {}
for _, n in ipairs(redis.call('ZRANGE', P .. 'nodes', 0, -1)) do
  if not localonly or n == self then
    local h = redis.call('HMGET', P .. 'node:' .. n, 'addr', 'mode', 'size')
    if h[1] and h[2] == mode then
      load[n], addrs[n], sizes[n] = 0, h[1], tonumber(h[3])
    end
  end
end

local best, bestTaken, bestNode, bestCap, bestCreate = nil, -1, nil, 0, false
for _, rid in ipairs(redis.call('ZRANGE', P .. 'rooms', 0, -1)) do
  local h = redis.call('HMGET', P .. 'room:' .. rid, 'node', 'cap', 'players', 'open')
  local n = h[1]
  if n and load[n] then
    local pk = P .. 'pending:' .. rid
    redis.call('ZREMRANGEBYSCORE', pk, '-inf', now)
    local taken = tonumber(h[3]) + redis.call('ZCARD', pk)
    local cap = tonumber(h[2])
    load[n] = load[n] + taken
    if taken < cap and (taken > bestTaken or (taken == bestTaken and rid < best)) then
      best, bestTaken, bestNode, bestCap, bestCreate = rid, taken, n, cap, h[4] ~= '1'
    end
  end
end

if not best then
  local least = nil
  for n, l in pairs(load) do
    if not least or l < load[least] or (l == load[least] and
        (n == self or (least ~= self and n < least))) then
      least = n
    end
  end
  if not least then
    return {}
  end
  best, bestNode, bestCap, bestCreate = newid, least, sizes[least], true
  local k = P .. 'room:' .. best
  redis.call('HSET', k, 'node', least, 'addr', addrs[least], 'mode', mode, 'cap', bestCap, 'players', 0, 'open', '0')
  redis.call('PEXPIRE', k, rttl)
  redis.call('ZADD', P .. 'rooms', exp, best)
end

local pk = P .. 'pending:' .. best
redis.call('ZADD', pk, exp, token)
redis.call('PEXPIRE', pk, rttl)
local create = bestCreate and '1' or '0'
if bestNode ~= self then
  redis.call('SET', P .. 'seat:' .. token,
    best .. '\n' .. bestNode .. '\n0\n' .. create .. '\n' .. bestCap .. '\n' .. exp, 'PX', rttl + 60000)
end
return {best, bestNode, addrs[bestNode], create, tostring(bestCap), tostring(exp)}
