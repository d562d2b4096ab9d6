-- peers: the public addresses of the live nodes of the fleet but self.
-- ARGV: prefix, self.
local P, self = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', now, '+inf')) do
  if n ~= self then
    local a = redis.call('HGET', P .. 'node:' .. n, 'addr')
    if a then
      out[#out + 1] = a
    end
  end
end
return out
