-- handoff: offers a room's bundle to another server. Picks the live node
-- of the mode, other than self, with the fewest players (ties: the
-- smallest id), stores the bundle under a single-use key that expires, and
-- tells that node on its own channel.
-- ARGV: prefix, self, mode, key token, bundle, ttl ms.
-- Returns {} when no other node of the mode is live, else
--   {node, addr, receivers of the notice (0: the node does not listen)}.
local P, self, mode, tok, bundle, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local best, bestPlayers, bestAddr = nil, nil, nil
for _, n in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', now, '+inf')) do
  if n ~= self then
    local h = redis.call('HMGET', P .. 'node:' .. n, 'addr', 'mode', 'players')
    local players = tonumber(h[3]) or 0
    if h[1] and h[2] == mode and (not best or players < bestPlayers or (players == bestPlayers and n < best)) then
      best, bestPlayers, bestAddr = n, players, h[1]
    end
  end
end
if not best then
  return {}
end
redis.call('SET', P .. 'handoff:' .. tok, bundle, 'PX', ttl)
local heard = redis.call('PUBLISH', P .. 'node:' .. best, tok)
if heard == 0 then
  redis.call('DEL', P .. 'handoff:' .. tok)
end
return {best, bestAddr, tostring(heard)}
