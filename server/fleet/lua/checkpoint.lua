-- checkpoint: one node's checkpoints, every interval. Stores each room's
-- bundle with an expiry, lists them in the node's set, deletes those of
-- rooms it no longer hosts, and records when the node last checkpointed.
-- ARGV: prefix, node, mode, ttl ms, n, then n x (room id, bundle).
local P, node, mode, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local set = P .. 'ckpt:' .. node
local n = tonumber(ARGV[5])
local keep = {}
for i = 0, n - 1 do
  local rid, bundle = ARGV[6 + 2 * i], ARGV[7 + 2 * i]
  keep[rid] = true
  redis.call('SET', set .. ':' .. rid, bundle, 'PX', ttl)
  redis.call('SADD', set, rid)
end
for _, rid in ipairs(redis.call('SMEMBERS', set)) do
  if not keep[rid] then
    redis.call('SREM', set, rid)
    redis.call('DEL', set .. ':' .. rid)
  end
end
if n > 0 then
  redis.call('PEXPIRE', set, ttl)
  redis.call('ZADD', P .. 'ckptnodes:' .. mode, now + ttl, node)
else
  redis.call('DEL', set)
  redis.call('ZREM', P .. 'ckptnodes:' .. mode, node)
end
return n
