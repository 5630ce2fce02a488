-- circuit_breaker.core.transitions (and core.window), run inside Redis.
--
-- One script holds every operation, so that each is a single atomic round trip decided
-- with the server's clock. Each function mirrors the Python function named above it;
-- keep the two in step (the store-contract tests run both through the same cases and
-- a randomized test through random sequences). See stores/redis/script.py for the
-- calling convention. Comparisons with deadlines fail closed, as in Python.

local FIELDS = {__FIELDS__}
local INTEGERS = {failure_count = true, consecutive_breaks = true, generation = true, seq = true}
local NUMBERS = {opened_at = true, retry_at = true, probe_until = true, changed_at = true,
  failure_at = true}
local MANUAL_REASONS = {closed = 'reset', forced_open = 'forced_open', disabled = 'disabled'}
local MANUAL_STATES = {forced_open = true, disabled = true}
local TIME_BUCKETS = 10
local MAX_COUNT_BUCKETS = 60

local key = KEYS[1]
local args = cjson.decode(ARGV[1])
local config = args.config
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
-- A record created again after expiring continues from the clock, never from zero.
local seed = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

-- transitions._failure, its common case: a failure counted below the threshold, by far
-- the most frequent write. Taken before the general machinery below is even defined:
-- the stored text goes back as it is, and only the five fields that change are written.
-- Any other case (not closed, another generation, the threshold reached) falls through.
if args.op == 'failure' then
  local raw = redis.call('HGETALL', key)
  local stored = {}
  for i = 1, #raw, 2 do
    if raw[i + 1] ~= '' then stored[raw[i]] = raw[i + 1] end
  end
  local count = (tonumber(stored.failure_count) or 0) + 1
  local threshold = config.failure_threshold
  if (stored.state or 'closed') == 'closed'
    and (tonumber(stored.generation) or 0) == args.generation
    and (threshold == cjson.null or count < threshold) then
    stored.failure_count = string.format('%d', count)
    stored.failure_type = args.fault.type
    stored.failure_message = args.fault.message
    stored.failure_at = string.format('%.17g', now)
    stored.seq = string.format('%d', (tonumber(stored.seq) or seed) + 1)
    redis.call('HSET', key, 'failure_count', stored.failure_count,
      'failure_type', stored.failure_type, 'failure_message', stored.failure_message,
      'failure_at', stored.failure_at, 'seq', stored.seq)
    redis.call('EXPIRE', key, args.ttl)
    local reply = {args.name, '', string.format('%.17g', now)}
    for _, field in ipairs(FIELDS) do reply[#reply + 1] = stored[field] or '' end
    return cjson.encode(reply)
  end
end

local function load()
  local raw = redis.call('HGETALL', key)
  local record = {state = 'closed', failure_count = 0, consecutive_breaks = 0, generation = 0,
    seq = seed, window = {}}
  for i = 1, #raw, 2 do
    local field, value = raw[i], raw[i + 1]
    if value ~= '' then
      if INTEGERS[field] or NUMBERS[field] then
        value = tonumber(value)
      elseif field == 'window' then
        value = cjson.decode(value)
      end
      record[field] = value
    end
  end
  return record
end

-- copy(record, changes): false in changes clears a field.
local function copy(record, changes)
  local result = {}
  for _, field in ipairs(FIELDS) do result[field] = record[field] end
  for field, value in pairs(changes) do
    if value == false then result[field] = nil else result[field] = value end
  end
  result.seq = record.seq + 1
  return result
end

-- transitions._moved: a new state, so the generation moves on and the window empties.
local function moved(record, changes)
  changes.generation = record.generation + 1
  changes.window = {}
  if changes.detail == nil then changes.detail = false end
  return copy(record, changes)
end

-- schedule.RecoverySchedule.interval
local function interval(trip)
  local exponent = math.min(math.max(trip - config.fixed, 0), config.exponential)
  local value = config.base * config.multiplier ^ exponent
  local cap = config.max_interval
  if cap == cjson.null then cap = config.max_allowed end
  return math.min(value, cap)
end

-- transitions._open
local function open(record, trip, reason, fault, jitter, options)
  options = options or {}
  local exhausted = trip > config.fixed + config.exponential
    and config.after_exhausted == 'stay_open'
  local changes = {state = 'open', failure_count = 0, consecutive_breaks = trip, opened_at = now,
    probe_token = false, probe_until = false, reason = reason, detail = options.detail or false,
    changed_at = now, changed_by = args.actor,
    tripped_by = options.tripped_by or record.tripped_by or false}
  if fault ~= nil and fault ~= cjson.null then
    changes.failure_type = fault.type
    changes.failure_message = fault.message
    changes.failure_at = now
  end
  if exhausted then
    changes.state = 'forced_open'
    changes.retry_at = false
    changes.reason = 'exhausted'
  else
    local retry_at = now + interval(trip) * jitter
    if options.at_least_until ~= nil then retry_at = math.max(retry_at, options.at_least_until) end
    changes.retry_at = retry_at
  end
  return moved(record, changes)
end

-- transitions._failure
local function failure(record)
  if record.state ~= 'closed' or record.generation ~= args.generation then return nil end
  local count = record.failure_count + 1
  if config.failure_threshold ~= cjson.null and count >= config.failure_threshold then
    return open(record, 1, 'threshold', args.fault, args.jitter, {tripped_by = 'threshold'})
  end
  return copy(record, {failure_count = count, failure_type = args.fault.type,
    failure_message = args.fault.message, failure_at = now})
end

-- transitions._success
local function success(record)
  if record.state ~= 'closed' or record.failure_count == 0
    or record.generation ~= args.generation then return nil end
  return copy(record, {failure_count = 0})
end

-- transitions._acquire_probe
local function acquire_probe(record)
  if record.state == 'open' then
    if record.retry_at == nil or not (now >= record.retry_at) then return nil end
    return moved(record, {state = 'half_open', probe_token = args.token,
      probe_until = now + config.probe_timeout, reason = 'retry_due', changed_at = now,
      changed_by = args.actor})
  end
  if record.state == 'half_open'
    and (record.probe_until == nil or now >= record.probe_until) then
    return copy(record, {probe_token = args.token, probe_until = now + config.probe_timeout})
  end
  return nil
end

-- transitions._complete_probe
local function complete_probe(record)
  if record.state ~= 'half_open' or record.probe_token ~= args.token then return nil end
  if args.fault ~= cjson.null then
    return open(record, record.consecutive_breaks + 1, 'probe_failed', args.fault, args.jitter)
  end
  return moved(record, {state = 'closed', failure_count = 0, consecutive_breaks = 0,
    opened_at = false, retry_at = false, probe_token = false, probe_until = false,
    reason = 'probe_succeeded', changed_at = now, changed_by = args.actor})
end

-- transitions._release_probe
local function release_probe(record)
  if record.state ~= 'half_open' or record.probe_token ~= args.token then return nil end
  return copy(record, {probe_token = false, probe_until = false})
end

-- transitions._set_state
local function set_state(record)
  local state = args.state
  local breaks = record.consecutive_breaks
  if state == 'closed' then breaks = 0 end
  local opened = false
  if state == 'forced_open' then opened = now end
  return moved(record, {state = state, failure_count = 0, consecutive_breaks = breaks,
    opened_at = opened, retry_at = false, probe_token = false, probe_until = false,
    reason = MANUAL_REASONS[state], changed_at = now, changed_by = args.actor})
end

-- transitions._trip
local function trip(record)
  if record.state ~= 'closed' or record.generation ~= args.generation then return nil end
  return open(record, 1, args.rule, args.fault, args.jitter, {tripped_by = args.rule})
end

-- window.merge (with window._trim_count_window)
local function merge(buckets, additions, rules, current_key, settled_before)
  local merged, keys = {}, {}
  local function add(bucket)
    local counts = merged[bucket[1]]
    if counts == nil then
      counts = {0, 0, 0}
      merged[bucket[1]] = counts
      keys[#keys + 1] = bucket[1]
    end
    counts[1] = counts[1] + bucket[2]
    counts[2] = counts[2] + bucket[3]
    counts[3] = counts[3] + bucket[4]
  end
  for _, bucket in ipairs(buckets) do add(bucket) end
  for _, bucket in ipairs(additions) do add(bucket) end
  table.sort(keys)
  local ordered = {}
  for _, k in ipairs(keys) do
    local c = merged[k]
    ordered[#ordered + 1] = {k, c[1], c[2], c[3]}
  end
  if rules.seconds ~= cjson.null then
    local oldest, kept = current_key - TIME_BUCKETS + 1, {}
    for _, bucket in ipairs(ordered) do
      if bucket[1] >= oldest then kept[#kept + 1] = bucket end
    end
    return kept
  end
  while #ordered > 1 do
    local rest = 0
    for i = 2, #ordered do
      if ordered[i][1] < settled_before then rest = rest + ordered[i][2] end
    end
    if rest < rules.calls then break end
    table.remove(ordered, 1)
  end
  while #ordered > MAX_COUNT_BUCKETS do
    local a, b = ordered[1], ordered[2]
    table.remove(ordered, 1)
    ordered[1] = {b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4]}
  end
  return ordered
end

-- window.settled_totals
local function settled_totals(buckets, rules, settled_before)
  local calls, failures, slow = 0, 0, 0
  if rules.seconds ~= cjson.null then
    for _, b in ipairs(buckets) do
      if b[1] < settled_before then
        calls, failures, slow = calls + b[2], failures + b[3], slow + b[4]
      end
    end
    return calls, failures, slow
  end
  for i = #buckets, 1, -1 do
    local b = buckets[i]
    if b[1] < settled_before then
      local share = 1
      if calls + b[2] > rules.calls then share = (rules.calls - calls) / b[2] end
      calls, failures, slow = calls + b[2] * share, failures + b[3] * share, slow + b[4] * share
      if calls >= rules.calls then break end
    end
  end
  return calls, failures, slow
end

-- window.verdict
local function verdict(calls, failures, slow, rules)
  if calls < rules.minimum_calls or calls <= 0 then return nil end
  if rules.failure_rate ~= cjson.null and failures / calls >= rules.failure_rate then
    return 'failure_rate'
  end
  if rules.slow_call_rate ~= cjson.null and slow / calls >= rules.slow_call_rate then
    return 'slow_call_rate'
  end
  return nil
end

-- transitions._flush
local function flush_window(record)
  local rules = config.window
  if rules == cjson.null or record.state ~= 'closed'
    or record.generation ~= args.generation then return nil end
  local settled = math.floor((now - args.settle_seconds) / rules.bucket_seconds)
  local window = merge(record.window or {}, args.buckets, rules,
    math.floor(now / rules.bucket_seconds), settled)
  if rules.judging then
    local calls, failures, slow = settled_totals(window, rules, settled)
    local rule = verdict(calls, failures, slow, rules)
    if rule ~= nil then
      return open(record, 1, rule, args.fault, args.jitter, {tripped_by = rule})
    end
  end
  local changes = {window = window}
  if args.fault ~= cjson.null then
    changes.failure_type = args.fault.type
    changes.failure_message = args.fault.message
    changes.failure_at = now
  end
  return copy(record, changes)
end

-- transitions._open_for
local function open_for(record)
  if args.generation ~= cjson.null and record.generation ~= args.generation then return nil end
  local until_at = now + args.seconds
  if record.state == 'closed' then
    return moved(record, {state = 'open', failure_count = 0, consecutive_breaks = 1,
      opened_at = now, retry_at = until_at, probe_token = false, probe_until = false,
      reason = 'open_for', detail = args.detail, changed_at = now, changed_by = args.actor})
  end
  if record.state == 'open' then
    if record.retry_at ~= nil and not (until_at > record.retry_at) then return nil end
    return copy(record, {retry_at = until_at, detail = args.detail})
  end
  if record.state == 'half_open' then
    return open(record, record.consecutive_breaks + 1, 'open_for', nil, args.jitter,
      {at_least_until = until_at, detail = args.detail})
  end
  return nil
end

local OPERATIONS = {failure = failure, success = success, acquire_probe = acquire_probe,
  complete_probe = complete_probe, release_probe = release_probe, set_state = set_state,
  trip = trip, flush_window = flush_window, open_for = open_for}
local operation = OPERATIONS[args.op]
if operation == nil then
  return redis.error_reply('unknown circuit breaker operation ' .. tostring(args.op))
end
if args.op == 'set_state' and MANUAL_REASONS[args.state] == nil then
  return redis.error_reply('cannot set a breaker to ' .. tostring(args.state) .. ' by hand')
end

local record = load()
local updated = operation(record)
local result = updated or record

local function encode(value, field)
  if value == nil then return '' end
  if INTEGERS[field] then return string.format('%d', value) end
  if NUMBERS[field] then return string.format('%.17g', value) end
  if field == 'window' then
    if #value == 0 then return '' end
    return cjson.encode(value)
  end
  return value
end

local flat = {}
for i, field in ipairs(FIELDS) do flat[i] = encode(result[field], field) end
local previous = ''
if updated ~= nil and updated.state ~= record.state then previous = record.state end
local reply = {args.name, previous, string.format('%.17g', now)}
for _, value in ipairs(flat) do reply[#reply + 1] = value end
-- One JSON string, not an array of 21: a client parses a single bulk reply much faster.
local encoded = cjson.encode(reply)

if updated ~= nil then
  -- Only the fields that changed travel to Redis (a counted failure writes four).
  local changed = {}
  for i, field in ipairs(FIELDS) do
    if flat[i] ~= encode(record[field], field) or field == 'seq' then
      changed[#changed + 1] = field
      changed[#changed + 1] = flat[i]
    end
  end
  redis.call('HSET', key, unpack(changed))
  -- Manual states last until a reset: they never expire with the idle key.
  if MANUAL_STATES[updated.state] then
    redis.call('PERSIST', key)
  else
    redis.call('EXPIRE', key, args.ttl)
  end
  if previous ~= '' or updated.probe_token ~= record.probe_token then
    -- The same list, prefixed with the writer's instance id.
    local message = '[' .. cjson.encode(args.actor) .. ',' .. string.sub(encoded, 2)
    redis.call(args.publish, args.channel, message)
  end
end
return encoded
