"""The Lua side of the Redis store: :mod:`circuit_breaker.transitions`, run inside Redis.

One script holds every transition so that each one is a single atomic round trip decided
with the server's clock. Function names and their order mirror ``transitions.py``; keep
the two in step (the contract tests in ``tests/stores`` run both through the same cases).

Calling convention (all values strings):

* ``KEYS[1]``: the breaker's hash.
* ``ARGV``: operation, breaker name, event channel, writer's instance id, idle TTL in
  seconds, then the operation's own arguments (see ``OPERATIONS`` below).

A policy is passed as five arguments: failure threshold, after_exhausted, probe timeout,
last planned trip, and, joined by commas, ``fixed_interval_retries`` followed by the
schedule's compact interval table (``RecoverySchedule.compact_intervals``).

The script answers ``{name, previous_state or "", server_now, field...}`` with the
fields in :data:`FIELDS` order ("" for None) and publishes the same list, prefixed with
the writer's instance id, as JSON on the event channel whenever it writes.
"""

from __future__ import annotations

FIELDS = (
    "state",
    "failure_count",
    "consecutive_breaks",
    "opened_at",
    "retry_at",
    "probe_token",
    "probe_until",
    "reason",
    "changed_at",
    "changed_by",
    "failure_type",
    "failure_message",
    "failure_at",
    "seq",
)

_LUA_FIELDS = ", ".join(f"'{field}'" for field in FIELDS)

_TEMPLATE = """
local FIELDS = {__FIELDS__}
local NUMBERS = {failure_count = true, consecutive_breaks = true, opened_at = true,
  retry_at = true, probe_until = true, changed_at = true, failure_at = true, seq = true}
local INTEGERS = {failure_count = true, consecutive_breaks = true, seq = true}
local MANUAL_REASONS = {closed = 'reset', forced_open = 'forced_open', disabled = 'disabled'}

local key = KEYS[1]
local op, name, channel, actor, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
-- A record created again after expiring continues from the clock, never from zero.
local seed = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local function load()
  local raw = redis.call('HGETALL', key)
  if #raw == 0 then
    return {state = 'closed', failure_count = 0, consecutive_breaks = 0, seq = seed}
  end
  local record = {}
  for i = 1, #raw, 2 do
    local field, value = raw[i], raw[i + 1]
    if value ~= '' then
      record[field] = NUMBERS[field] and tonumber(value) or value
    end
  end
  -- A hash edited by hand may lack fields: read it as the defaults.
  record.state = record.state or 'closed'
  record.failure_count = record.failure_count or 0
  record.consecutive_breaks = record.consecutive_breaks or 0
  record.seq = record.seq or seed
  return record
end

local function copy(record, changes)
  local result = {}
  for _, field in ipairs(FIELDS) do result[field] = record[field] end
  for field, value in pairs(changes) do
    if value == false then result[field] = nil else result[field] = value end
  end
  return result
end

local function encode(record)
  local flat = {}
  for i, field in ipairs(FIELDS) do
    local value = record[field]
    if value == nil then
      flat[i] = ''
    elseif INTEGERS[field] then
      flat[i] = string.format('%.0f', value)
    elseif NUMBERS[field] then
      flat[i] = string.format('%.6f', value)
    else
      flat[i] = value
    end
  end
  return flat
end

local function policy_from(i)
  local numbers = {}
  for number in string.gmatch(ARGV[i + 4], '[^,]+') do
    numbers[#numbers + 1] = tonumber(number)
  end
  local intervals = {}
  for j = 2, #numbers do
    intervals[j - 1] = numbers[j]
  end
  return {failure_threshold = tonumber(ARGV[i]), after_exhausted = ARGV[i + 1],
    probe_timeout = tonumber(ARGV[i + 2]), last_trip = tonumber(ARGV[i + 3]),
    fixed_retries = numbers[1], intervals = intervals}
end

local function failure_from(i)
  return {type = ARGV[i], message = ARGV[i + 1], at = tonumber(ARGV[i + 2])}
end

-- transitions._open
local function open(record, policy, trip, reason, info, jitter)
  local failure = {failure_type = info.type, failure_message = info.message,
    failure_at = info.at}
  if trip > policy.last_trip and policy.after_exhausted == 'stay_open' then
    return copy(record, {state = 'forced_open', failure_count = 0, consecutive_breaks = trip,
      opened_at = now, retry_at = false, probe_token = false, probe_until = false,
      reason = 'exhausted', changed_at = now, changed_by = actor,
      failure_type = failure.failure_type, failure_message = failure.failure_message,
      failure_at = failure.failure_at, seq = record.seq + 1})
  end
  -- schedule.lookup: entry 0 for trips up to fixed_retries, then one per trip
  local index = math.min(math.max(trip - policy.fixed_retries, 0), #policy.intervals - 1)
  local interval = policy.intervals[index + 1] * jitter
  return copy(record, {state = 'open', failure_count = 0, consecutive_breaks = trip,
    opened_at = now, retry_at = now + interval, probe_token = false, probe_until = false,
    reason = reason, changed_at = now, changed_by = actor,
    failure_type = failure.failure_type, failure_message = failure.failure_message,
    failure_at = failure.failure_at, seq = record.seq + 1})
end

-- transitions.failure: only a CLOSED breaker counts an ordinary call's failure.
local function failure(record, policy, info, jitter)
  if record.state ~= 'closed' then return nil end
  local count = record.failure_count + 1
  if count >= policy.failure_threshold then
    return open(record, policy, 1, 'threshold', info, jitter)
  end
  return copy(record, {failure_count = count, failure_type = info.type,
    failure_message = info.message, failure_at = info.at, seq = record.seq + 1})
end

-- transitions.success
local function success(record)
  if record.state ~= 'closed' or record.failure_count == 0 then return nil end
  return copy(record, {failure_count = 0, seq = record.seq + 1})
end

-- transitions.acquire_probe
local function acquire_probe(record, policy, token)
  if record.state == 'open' then
    if record.retry_at == nil or now < record.retry_at then return nil end
  elseif record.state == 'half_open' then
    if record.probe_until ~= nil and now < record.probe_until then return nil end
  else
    return nil
  end
  local changed = record.state == 'open'
  return copy(record, {state = 'half_open', probe_token = token,
    probe_until = now + policy.probe_timeout,
    reason = changed and 'retry_due' or (record.reason or false),
    changed_at = changed and now or (record.changed_at or false),
    changed_by = changed and actor or (record.changed_by or false),
    seq = record.seq + 1})
end

-- transitions.complete_probe
local function complete_probe(record, policy, token, info, jitter)
  if record.state ~= 'half_open' or record.probe_token ~= token then return nil end
  if info ~= nil then
    local trip = record.consecutive_breaks + 1
    return open(record, policy, trip, 'probe_failed', info, jitter)
  end
  return copy(record, {state = 'closed', failure_count = 0, consecutive_breaks = 0,
    opened_at = false, retry_at = false, probe_token = false, probe_until = false,
    reason = 'probe_succeeded', changed_at = now, changed_by = actor,
    seq = record.seq + 1})
end

-- transitions.release_probe
local function release_probe(record, token)
  if record.state ~= 'half_open' or record.probe_token ~= token then return nil end
  return copy(record, {probe_token = false, probe_until = false, seq = record.seq + 1})
end

-- transitions.set_state
local function set_state(record, state)
  return copy(record, {state = state, failure_count = 0,
    consecutive_breaks = state == 'closed' and 0 or record.consecutive_breaks,
    opened_at = state == 'forced_open' and now or false, retry_at = false,
    probe_token = false, probe_until = false, reason = MANUAL_REASONS[state],
    changed_at = now, changed_by = actor, seq = record.seq + 1})
end

local record = load()
local updated
if op == 'failure' then
  updated = failure(record, policy_from(6), failure_from(11), tonumber(ARGV[14]))
elseif op == 'success' then
  updated = success(record)
elseif op == 'acquire_probe' then
  updated = acquire_probe(record, policy_from(6), ARGV[11])
elseif op == 'complete_probe' then
  local info = nil
  if ARGV[12] == '1' then info = failure_from(13) end
  updated = complete_probe(record, policy_from(6), ARGV[11], info, tonumber(ARGV[16]))
elseif op == 'release_probe' then
  updated = release_probe(record, ARGV[6])
elseif op == 'set_state' then
  if MANUAL_REASONS[ARGV[6]] == nil then
    return redis.error_reply('cannot set a breaker to ' .. ARGV[6] .. ' by hand')
  end
  updated = set_state(record, ARGV[6])
else
  return redis.error_reply('unknown circuit breaker operation ' .. op)
end

local previous = ''
local result = record
if updated ~= nil then
  result = updated
  if updated.state ~= record.state then previous = record.state end
end
local flat = encode(result)
local reply = {name, previous, string.format('%.6f', now)}
for _, value in ipairs(flat) do reply[#reply + 1] = value end
if updated ~= nil then
  local pairs_to_set = {}
  for i, field in ipairs(FIELDS) do
    pairs_to_set[#pairs_to_set + 1] = field
    pairs_to_set[#pairs_to_set + 1] = flat[i]
  end
  redis.call('HSET', key, unpack(pairs_to_set))
  redis.call('EXPIRE', key, ttl)
  local message = {actor}
  for _, value in ipairs(reply) do message[#message + 1] = value end
  redis.call('PUBLISH', channel, cjson.encode(message))
end
return reply
"""

SCRIPT = _TEMPLATE.replace("__FIELDS__", _LUA_FIELDS)
