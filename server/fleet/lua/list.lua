-- list: every open room of every live node.
-- ARGV: prefix.
-- Returns a flat array of 6-tuples: room id, node, addr, mode, capacity, players.
local P = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = {}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', now, '+inf')) do
  live[n] = true
end
local out = {}
for _, rid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'rooms', now, '+inf')) do
  local h = redis.call('HMGET', P .. 'room:' .. rid, 'node', 'addr', 'mode', 'cap', 'players', 'open')
  if h[1] and live[h[1]] and h[6] == '1' then
    for _, x in ipairs({rid, h[1], h[2], h[3], h[4], h[5]}) do
      out[#out + 1] = x
    end
  end
end
return out
