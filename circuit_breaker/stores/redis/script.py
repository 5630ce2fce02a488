"""The Lua side of the Redis store: :mod:`circuit_breaker.core.transitions`, run inside Redis.

One script holds every operation so that each one is a single atomic round trip decided
with the server's clock. Its functions mirror ``transitions.py`` one for one; keep the
two in step (the store-contract tests run both through the same cases, and a randomized
test through random sequences).

Calling convention: ``KEYS[1]`` is the breaker's hash; ``ARGV[1]`` is one JSON object
with named members (see :func:`payload`): ``op``, ``name``, ``channel``, ``actor``,
``ttl``, ``config`` (what the state machine needs of the breaker's configuration), and
the operation's own members (``generation``, ``fault``, ``jitter``, ``token``, ``state``).

The script answers ``{name, previous_state or "", server_now, field...}`` with the
fields in :data:`FIELDS` order ("" for None, numbers as exact decimal text). When the
state or the probe permit changed it publishes the same list, prefixed with the
writer's instance id, as JSON on the event channel: other processes must learn those at
once; a failure counted below the threshold they learn at their next refresh.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.core.operations import (
    AcquireProbe,
    CompleteProbe,
    Operation,
    RecordFailure,
    RecordSuccess,
    ReleaseProbe,
    SetState,
)
from circuit_breaker.core.record import BreakerRecord, FailureInfo
from circuit_breaker.core.schedule import MAX_INTERVAL_SECONDS
from circuit_breaker.core.state import MANUAL_STATES, CircuitBreakerState

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
    "generation",
    "seq",
)

_LUA = """
local FIELDS = {__FIELDS__}
local INTEGERS = {failure_count = true, consecutive_breaks = true, generation = true, seq = true}
local NUMBERS = {opened_at = true, retry_at = true, probe_until = true, changed_at = true,
  failure_at = true}
local MANUAL_REASONS = {closed = 'reset', forced_open = 'forced_open', disabled = 'disabled'}
local MANUAL_STATES = {forced_open = true, disabled = true}

local key = KEYS[1]
local args = cjson.decode(ARGV[1])
local config = args.config
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
-- A record created again after expiring continues from the clock, never from zero.
local seed = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local function load()
  local raw = redis.call('HGETALL', key)
  local record = {state = 'closed', failure_count = 0, consecutive_breaks = 0, generation = 0,
    seq = seed}
  for i = 1, #raw, 2 do
    local field, value = raw[i], raw[i + 1]
    if value ~= '' then
      if INTEGERS[field] or NUMBERS[field] then value = tonumber(value) end
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

-- transitions._moved: a new state, so the generation moves on.
local function moved(record, changes)
  changes.generation = record.generation + 1
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
local function open(record, trip, reason, fault, jitter)
  local exhausted = trip > config.fixed + config.exponential
    and config.after_exhausted == 'stay_open'
  local changes = {state = 'open', failure_count = 0, consecutive_breaks = trip, opened_at = now,
    probe_token = false, probe_until = false, reason = reason, changed_at = now,
    changed_by = args.actor, failure_type = fault.type, failure_message = fault.message,
    failure_at = now}
  if exhausted then
    changes.state = 'forced_open'
    changes.retry_at = false
    changes.reason = 'exhausted'
  else
    changes.retry_at = now + interval(trip) * jitter
  end
  return moved(record, changes)
end

-- transitions._failure
local function failure(record)
  if record.state ~= 'closed' or record.generation ~= args.generation then return nil end
  local count = record.failure_count + 1
  if count >= config.failure_threshold then
    return open(record, 1, 'threshold', args.fault, args.jitter)
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

-- transitions._acquire_probe (comparisons fail closed, as in Python)
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

local OPERATIONS = {failure = failure, success = success, acquire_probe = acquire_probe,
  complete_probe = complete_probe, release_probe = release_probe, set_state = set_state}
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

local flat = {}
for i, field in ipairs(FIELDS) do
  local value = result[field]
  if value == nil then
    flat[i] = ''
  elseif INTEGERS[field] then
    flat[i] = string.format('%d', value)
  elseif NUMBERS[field] then
    flat[i] = string.format('%.17g', value)
  else
    flat[i] = value
  end
end
local previous = ''
if updated ~= nil and updated.state ~= record.state then previous = record.state end
local reply = {args.name, previous, string.format('%.17g', now)}
for _, value in ipairs(flat) do reply[#reply + 1] = value end

if updated ~= nil then
  local pairs_to_set = {}
  for i, field in ipairs(FIELDS) do
    pairs_to_set[#pairs_to_set + 1] = field
    pairs_to_set[#pairs_to_set + 1] = flat[i]
  end
  redis.call('HSET', key, unpack(pairs_to_set))
  -- Manual states last until a reset: they never expire with the idle key.
  if MANUAL_STATES[updated.state] then
    redis.call('PERSIST', key)
  else
    redis.call('EXPIRE', key, args.ttl)
  end
  if previous ~= '' or updated.probe_token ~= record.probe_token then
    local message = {args.actor}
    for _, value in ipairs(reply) do message[#message + 1] = value end
    redis.call('PUBLISH', args.channel, cjson.encode(message))
  end
end
return reply
"""

SCRIPT = _LUA.replace("__FIELDS__", ", ".join(f"'{field}'" for field in FIELDS))
assert {state.value for state in MANUAL_STATES} == {"forced_open", "disabled"}


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every call of the script carries besides the operation."""

    name: str
    channel: str
    actor: str
    ttl: int


def payload(envelope: Envelope, operation: Operation, config: BreakerConfig) -> str:
    """``ARGV[1]``: the operation and the configuration it needs, by name."""
    members: dict[str, Any] = {
        "name": envelope.name,
        "channel": envelope.channel,
        "actor": envelope.actor,
        "ttl": envelope.ttl,
        "config": {
            "failure_threshold": config.failure_threshold,
            "after_exhausted": config.after_exhausted,
            "probe_timeout": config.probe_timeout_seconds,
            "base": config.base_interval_seconds,
            "fixed": config.fixed_interval_retries,
            "exponential": config.max_exponential_retries,
            "multiplier": config.backoff_multiplier,
            "max_interval": config.max_interval_seconds,
            "max_allowed": MAX_INTERVAL_SECONDS,
        },
    }
    match operation:
        case RecordFailure(generation, fault, jitter):
            members |= {
                "op": "failure",
                "generation": generation,
                "fault": {"type": fault.type, "message": fault.message},
                "jitter": jitter,
            }
        case RecordSuccess(generation):
            members |= {"op": "success", "generation": generation}
        case AcquireProbe(token):
            members |= {"op": "acquire_probe", "token": token}
        case CompleteProbe(token, fault, jitter):
            members |= {
                "op": "complete_probe",
                "token": token,
                "fault": None if fault is None else {"type": fault.type, "message": fault.message},
                "jitter": jitter,
            }
        case ReleaseProbe(token):
            members |= {"op": "release_probe", "token": token}
        case SetState(state):
            members |= {"op": "set_state", "state": state.value}
    return json.dumps(members, separators=(",", ":"))


def _number(text: str) -> float | None:
    return float(text) if text else None


def parse_record(values: Sequence[str]) -> BreakerRecord:
    """A record from the script's fields (FIELDS order, "" for None)."""
    fields = dict(zip(FIELDS, values, strict=True))
    failure = None
    if fields["failure_type"]:
        failure = FailureInfo(
            fields["failure_type"], fields["failure_message"], float(fields["failure_at"] or 0)
        )
    return BreakerRecord(
        state=CircuitBreakerState(fields["state"] or "closed"),
        failure_count=int(fields["failure_count"] or 0),
        consecutive_breaks=int(fields["consecutive_breaks"] or 0),
        opened_at=_number(fields["opened_at"]),
        retry_at=_number(fields["retry_at"]),
        probe_token=fields["probe_token"] or None,
        probe_until=_number(fields["probe_until"]),
        reason=fields["reason"] or None,
        changed_at=_number(fields["changed_at"]),
        changed_by=fields["changed_by"] or None,
        last_failure=failure,
        generation=int(fields["generation"] or 0),
        seq=int(fields["seq"] or 0),
    )


def parse_reply(
    reply: Sequence[str],
) -> tuple[str, BreakerRecord, float, CircuitBreakerState | None]:
    """``(name, record, server_now, previous_state)`` from a reply or a published message."""
    name, previous, now, *values = reply
    return (
        name,
        parse_record(values),
        float(now),
        CircuitBreakerState(previous) if previous else None,
    )
