namespace QuotaGrains.LoadTest.Targets.Redis;

/// <summary>
/// The quota semantics as atomic Lua scripts: what a team would otherwise build on Redis. Per Space (one hash slot,
/// <c>{space}</c> is the hash tag):
/// <list type="bullet">
/// <item><c>q:{s}</c> hash: allowance, used, held, generations, next (renewal, ms), crossed (highest threshold %).</item>
/// <item><c>q:{s}:m</c> set: members. <c>q:{s}:u</c> hash: credits committed by member.</item>
/// <item><c>q:{s}:h:&lt;hold&gt;</c> hash: user, unit, items (one status letter each: P pending, C committed,
/// R refunded, X expired), pending, expires, closed (c settled / x expired); kept for the retention window.</item>
/// <item><c>q:{s}:x</c> sorted set: open holds by expiry instant; due holds are expired (refunded) lazily by the
/// next script on the Space, as the engine's AdvanceTo does.</item>
/// <item><c>q:{s}:o:&lt;operation&gt;</c> string: "result|fingerprint" of an accepted request, for the retention
/// window: the same operation id returns the first result; with other parameters it is OperationIdReused.</item>
/// <item><c>q:{s}:n</c> list: usage notifications (50/80/100 %), once per threshold.</item>
/// </list>
/// Replies: <c>{'A', result}</c> accepted, <c>{'R', result}</c> replayed, <c>{'F', items,available}</c> free,
/// <c>{'E', code[, available, required, next]}</c> rejected. Renewals are not modelled: a run is shorter than a cycle.
/// Hold keys of due expiries are built inside the script (same hash slot, fine on one server; a Redis Cluster
/// deployment would pass them as keys).
/// </summary>
public static class RedisScripts
{
    private const string Common = """
        local function replay(opkey, fingerprint)
          local prior = redis.call('GET', opkey)
          if not prior then return nil end
          local sep = string.find(prior, '|', 1, true)
          if string.sub(prior, sep + 1) == fingerprint then return {'R', string.sub(prior, 1, sep - 1)} end
          return {'E', 'OperationIdReused'}
        end
        local function expire_due(space, zset, now)
          local due = redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'LIMIT', 0, 64)
          for _, id in ipairs(due) do
            local hk = space .. ':h:' .. id
            local h = redis.call('HMGET', hk, 'pending', 'unit', 'items')
            if h[1] and tonumber(h[1]) > 0 then
              redis.call('HINCRBY', space, 'held', -tonumber(h[1]) * tonumber(h[2]))
              redis.call('HSET', hk, 'items', (string.gsub(h[3], 'P', 'X')), 'pending', 0, 'closed', 'x')
            end
            redis.call('ZREM', zset, id)
          end
        end
        """;

    /// <summary>KEYS: space, members, op, hold, expiries. ARGV: user, fingerprint, count, unit credits (0 = free),
    /// now ms, hold TTL ms, retention ms, hold id, spec label.</summary>
    public const string Reserve = Common + "\n" + """
        local r = replay(KEYS[3], ARGV[2])
        if r then return r end
        if redis.call('EXISTS', KEYS[1]) == 0 then return {'E', 'SpaceNotFound'} end
        local now = tonumber(ARGV[5])
        expire_due(KEYS[1], KEYS[5], now)
        if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {'E', 'NotAMember'} end
        local p = redis.call('HMGET', KEYS[1], 'allowance', 'used', 'held', 'next')
        local available = tonumber(p[1]) - tonumber(p[2]) - tonumber(p[3])
        if available < 0 then available = 0 end
        local count = tonumber(ARGV[3])
        local unit = tonumber(ARGV[4])
        if unit == 0 then return {'F', count .. ',' .. available} end
        if redis.call('EXISTS', KEYS[4]) == 1 then return {'E', 'InvalidRequest'} end
        local required = unit * count
        if required > available then return {'E', 'InsufficientCredits', tostring(available), tostring(required), p[4]} end
        local expires = now + tonumber(ARGV[6])
        redis.call('HINCRBY', KEYS[1], 'held', required)
        redis.call('HSET', KEYS[4], 'user', ARGV[1], 'unit', unit, 'items', string.rep('P', count), 'pending', count, 'expires', expires, 'spec', ARGV[9])
        redis.call('PEXPIRE', KEYS[4], ARGV[7])
        redis.call('ZADD', KEYS[5], expires, ARGV[8])
        local result = count .. ',' .. unit .. ',' .. required .. ',' .. (available - required) .. ',' .. expires
        redis.call('SET', KEYS[3], result .. '|' .. ARGV[2], 'PX', ARGV[7])
        return {'A', result}
        """;

    /// <summary>KEYS: space, op, hold, expiries, usage. ARGV: user, fingerprint, '1' commit / '0' refund,
    /// items ('' = every pending item, else comma-separated indexes), now ms, retention ms, hold id.</summary>
    public const string Settle = Common + "\n" + """
        local r = replay(KEYS[2], ARGV[2])
        if r then return r end
        if redis.call('EXISTS', KEYS[1]) == 0 then return {'E', 'SpaceNotFound'} end
        local now = tonumber(ARGV[5])
        expire_due(KEYS[1], KEYS[4], now)
        local h = redis.call('HMGET', KEYS[3], 'user', 'unit', 'items', 'pending', 'closed')
        if not h[1] or h[1] ~= ARGV[1] then return {'E', 'HoldNotFound'} end
        if h[5] == 'x' then return {'E', 'HoldExpired'} end
        if h[5] then return {'E', 'HoldNotFound'} end
        local unit = tonumber(h[2])
        local items = h[3]
        local pending = tonumber(h[4])
        local mark = 'R'
        if ARGV[3] == '1' then mark = 'C' end
        local count = 0
        if ARGV[4] == '' then
          items = (string.gsub(items, 'P', mark))
          count = pending
        else
          local chars = {}
          for i = 1, #items do chars[i] = string.sub(items, i, i) end
          for index in string.gmatch(ARGV[4], '%d+') do
            local i = tonumber(index) + 1
            if i > #chars then return {'E', 'InvalidRequest'} end
            if chars[i] ~= 'P' then return {'E', 'ItemAlreadySettled'} end
            chars[i] = mark
            count = count + 1
          end
          items = table.concat(chars)
        end
        local credits = count * unit
        redis.call('HINCRBY', KEYS[1], 'held', -credits)
        local committed = 0
        local refunded = credits
        if mark == 'C' then
          committed = credits
          refunded = 0
          local used = redis.call('HINCRBY', KEYS[1], 'used', credits)
          redis.call('HINCRBY', KEYS[1], 'generations', count)
          redis.call('HINCRBY', KEYS[5], ARGV[1], credits)
          local s = redis.call('HMGET', KEYS[1], 'allowance', 'crossed')
          local allowance = tonumber(s[1])
          local crossed = tonumber(s[2] or '0')
          for _, t in ipairs({50, 80, 100}) do
            if t > crossed and used * 100 >= t * allowance then
              redis.call('RPUSH', KEYS[1] .. ':n', t .. ',' .. used .. ',' .. now)
              redis.call('HSET', KEYS[1], 'crossed', t)
              crossed = t
            end
          end
        end
        pending = pending - count
        if pending == 0 then
          redis.call('HSET', KEYS[3], 'items', items, 'pending', 0, 'closed', 'c')
          redis.call('ZREM', KEYS[4], ARGV[7])
        else
          redis.call('HSET', KEYS[3], 'items', items, 'pending', pending)
        end
        local result = committed .. ',' .. refunded .. ',' .. count .. ',' .. pending
        redis.call('SET', KEYS[2], result .. '|' .. ARGV[2], 'PX', ARGV[6])
        return {'A', result}
        """;
}
