-- claim: takes up to max checkpoints of nodes that are dead (their
-- heartbeat lapsed, alive:<node> expired) for this node to restore. Each
-- checkpoint is taken once (SPOP then GETDEL), so live nodes that claim at
-- the same time share a dead node's rooms. Checkpoints of a node that left
-- the directory on purpose were deleted by it. Only nodes of this node's
-- mode (the same games) are claimed.
-- ARGV: prefix, self, mode, max.
-- Returns a flat array of (dead node, room id, bundle).
local P, self, mode, max = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', P .. 'ckptnodes:' .. mode, '-inf', now)
local out = {}
for _, n in ipairs(redis.call('ZRANGE', P .. 'ckptnodes:' .. mode, 0, -1)) do
  if #out >= 3 * max then
    break
  end
  -- alive:<node> is refreshed by every heartbeat, in the directory or
  -- draining out of it: only a node that stopped beating is dead.
  if n ~= self and redis.call('EXISTS', P .. 'alive:' .. n) == 0 then
    local set = P .. 'ckpt:' .. n
    while #out < 3 * max do
      local rid = redis.call('SPOP', set)
      if not rid then
        redis.call('ZREM', P .. 'ckptnodes:' .. mode, n)
        break
      end
      local b = redis.call('GETDEL', set .. ':' .. rid)
      if b then
        out[#out + 1] = n
        out[#out + 1] = rid
        out[#out + 1] = b
      end
    end
  end
end
return out
