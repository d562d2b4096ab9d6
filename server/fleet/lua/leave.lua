-- leave: a node leaves the directory at once (drain, shutdown): the node
-- and the rooms it published are removed, so no one is sent there.
-- ARGV: prefix, node, then the room ids it published.
local P, node = ARGV[1], ARGV[2]
redis.call('ZREM', P .. 'nodes', node)
redis.call('DEL', P .. 'node:' .. node)
for i = 3, #ARGV do
  local rid = ARGV[i]
  if redis.call('HGET', P .. 'room:' .. rid, 'node') == node then
    redis.call('DEL', P .. 'room:' .. rid, P .. 'pending:' .. rid)
    redis.call('ZREM', P .. 'rooms', rid)
  end
end
return 1
