-- redeem: the node a reservation names spends it, once. A spent
-- reservation stays known (as spent) until its key expires, a minute after
-- the reservation itself, so a second use is told so.
-- ARGV: prefix, self, room id, token.
-- Returns {status, spectate, create, capacity} with status 'ok', 'invalid',
-- 'used' or 'expired'.
local P, self, rid, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local k = P .. 'seat:' .. token
local v = redis.call('GET', k)
if not v then
  return {'invalid'}
end
if v == 'used' then
  return {'used'}
end
local f = {}
for part in string.gmatch(v, '[^\n]+') do
  f[#f + 1] = part
end
-- f: room id, node, spectate, create, capacity, expires ms
if f[1] ~= rid or f[2] ~= self then
  return {'invalid'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', k, 'used', 'KEEPTTL')
if now > tonumber(f[6]) then
  return {'expired'}
end
return {'ok', f[3], f[4], f[5]}
