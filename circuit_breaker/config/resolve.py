"""From a merged document to breaker specs: validation, profiles, ``defaults``, imports.

A breaker's settings are, from weakest to strongest: the constructor's defaults, its
profile (after the profiles it extends), ``defaults``, and its own keys. Parts with
problems resolve to None once their problems are recorded, so nothing is reported twice;
the profile such a part names and the exception classes it lists are still checked, so
that one run reports every problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from circuit_breaker.config.exceptions import ExceptionImporter, ImportFailure, import_callable
from circuit_breaker.config.files import Document
from circuit_breaker.config.models import BreakerSettings, ProfileSettings, Settings, StoreSettings
from circuit_breaker.config.profiles import BUILTIN_PROFILES
from circuit_breaker.config.source import Entry, KeyPath, Location, problem
from circuit_breaker.config.spec import BreakerSpec, ProfileSpec, RegistryConfig, StoreSpec
from circuit_breaker.config.validation import validate
from circuit_breaker.core.config import BreakerConfig, InvalidSetting
from circuit_breaker.errors import ConfigError, ConfigProblem, closest
from circuit_breaker.stores.redis.options import OptionProblem, missing_driver, option_problems

Settings_ = dict[str, Any]
# The keys a BreakerConfig field may have come from, for locating a broken rule.
_KEYS_OF_FIELD = {
    "base_interval_seconds": ("base_interval", "base_interval_minutes"),
    "max_interval_seconds": ("max_interval", "max_interval_minutes"),
    "probe_timeout_seconds": ("probe_timeout", "probe_timeout_seconds"),
    "slow_call_duration_seconds": ("slow_call_duration",),
    "sliding_window_seconds": ("sliding_window",),
    "sliding_window_calls": ("sliding_window",),
}
# The keys that name a profile, and the models they belong to.
_REFERENCES: dict[str, type[Settings]] = {"profile": BreakerSettings, "extends": ProfileSettings}


def resolve(document: Document) -> RegistryConfig:
    """The configuration's specs; raises ConfigError listing every problem."""
    resolver = _Resolver(document)
    breakers = resolver.breakers()
    store = resolver.store()
    if resolver.problems:
        order = {source: index for index, source in enumerate(document.sources)}
        resolver.problems.sort(key=lambda p: (order.get(p.file or "", -1), p.line or 0))
        raise ConfigError(resolver.problems)
    return RegistryConfig(
        breakers, store, tuple(document.sources), resolver.profiles(), resolver.on_demand_defaults
    )


class _Resolver:
    def __init__(self, document: Document) -> None:
        self.sections = document.sections
        self.problems: list[ConfigProblem] = list(document.problems)
        self._importer = ExceptionImporter()
        self._own: dict[str, Settings_ | None] = {}
        self._parents: dict[str, str | None] = {}  # the profile each one extends
        for name, body in self.sections["profiles"].items():
            path = ("profiles", name)
            self._own[name] = self._part(ProfileSettings, body, path)
            self._parents[name] = self._name("extends", self._own[name], body, path)
        self._known = sorted({*BUILTIN_PROFILES, *self._own})
        self._resolved: dict[str, Settings_ | None] = {}
        for name in self._own:  # every profile, used or not, so its problems show
            self._chain(name, ())
        self._defaults: Settings_ = {}
        self.on_demand_defaults = ProfileSpec(None, {}, Location(None))

    def breakers(self) -> dict[str, BreakerSpec]:
        """Every breaker's spec; breakers are checked even when ``defaults`` has problems."""
        defaults_entry = Entry(self.sections["defaults"], Location(None))
        defaults = self._part(BreakerSettings, defaults_entry, ("defaults",))
        default_profile = self._name("profile", defaults, defaults_entry, ("defaults",))
        default_base = (
            self._profile(default_profile, defaults_entry, ("defaults",)) if default_profile else {}
        )
        if defaults is not None and default_base is not None:
            self._defaults = defaults
            self.on_demand_defaults = ProfileSpec(
                default_profile, {**default_base, **defaults}, defaults_entry.where
            )
        specs: dict[str, BreakerSpec] = {}
        for name, body in self.sections["breakers"].items():
            path = ("breakers", name)
            own = self._part(BreakerSettings, body, path)
            if isinstance(body.value, dict) and "profile" in body.value:
                profile = self._name("profile", own, body, path)
                base = self._profile(profile, body, path) if profile else {}
            else:
                profile, base = default_profile, default_base
            if own is not None and defaults is not None and base is not None:
                config = self._config(name, body, profile, {**base, **defaults, **own})
                if config is not None:
                    specs[name] = BreakerSpec(name, config, body.where)
        return specs

    def _config(
        self, name: str, body: Entry, profile: str | None, options: Settings_
    ) -> BreakerConfig | None:
        """The breaker's config; a rule it breaks is located at the key that set it."""
        try:
            return BreakerConfig(profile=profile, **options)
        except InvalidSetting as exc:
            keys = _KEYS_OF_FIELD.get(exc.field, (exc.field,))
            key = next((k for k in keys if isinstance(body.value, dict) and k in body.value), None)
            at: KeyPath = (key,) if key is not None else ()
            # The value as the file wrote it ("1000000m"), not converted to the field's unit.
            written = body.value[key].plain() if key is not None else exc.value
            self.problems.append(
                problem(
                    f"must be {exc.expected}",
                    body.locate(at),
                    ("breakers", name, *at),
                    written,
                    show=True,
                )
            )
            return None

    def profiles(self) -> dict[str, ProfileSpec]:
        """Every known profile under ``defaults``: what breakers created on first use are
        built from (call after :meth:`breakers`, which reads ``defaults``)."""
        declared = self.sections["profiles"]
        found = {}
        for name in self._known:
            settings = self._chain(name, ())
            if settings is not None:
                where = declared[name].where if name in declared else Location(None)
                found[name] = ProfileSpec(name, {**settings, **self._defaults}, where)
        return found

    def store(self) -> StoreSpec | None:
        section = self.sections["store"]
        if not section:
            return None
        entry = Entry(section, Location(None))
        settings, problems = validate(StoreSettings, entry, ("store",))
        self.problems += problems
        if settings is None:
            return None
        options = settings.options()
        if settings.backend == "redis":
            # Which options go together is the Redis store's rule: asked, not repeated.
            missing = missing_driver()
            found = [OptionProblem(("backend",), missing)] if missing else []
            found += option_problems(options)
            # A key missing from the section is reported where the backend is named.
            located = Entry(section, section["backend"].where)
            for bad in found:
                where = located.locate(bad.path)
                self.problems.append(problem(bad.message, where, ("store", *bad.path)))
            if found:
                return None
        return StoreSpec(settings.backend, options, section["backend"].where)

    def _profile(
        self, name: str, owner: Entry, path: KeyPath, below: tuple[str, ...] = ()
    ) -> Settings_ | None:
        """Profile ``name``, which ``owner``'s ``profile``/``extends`` key names."""
        if name in self._known:
            return self._chain(name, below)
        key = "extends" if below else "profile"
        hint = closest(name, self._known)
        suggestion = (
            f"did you mean {hint!r}?" if hint else f"known profiles: {', '.join(self._known)}"
        )
        self.problems.append(
            problem(f"unknown profile {name!r}; {suggestion}", owner.locate((key,)), (*path, key))
        )
        return None

    def _chain(self, name: str, below: tuple[str, ...]) -> Settings_ | None:
        """Profile ``name`` over the profiles it extends; ``below`` are its extenders."""
        if name in self._resolved:
            return self._resolved[name]
        if name in below:  # report the cycle once, at the extends that closes it
            cycle = [*below[below.index(name) :], name]
            closing = self.sections["profiles"][below[-1]]
            self.problems.append(
                problem(
                    f"profiles extend each other in a cycle: {' -> '.join(cycle)}",
                    closing.locate(("extends",)),
                    ("profiles", below[-1], "extends"),
                )
            )
            self._resolved.update(dict.fromkeys(cycle))
            return None
        own = self._own.get(name, {})  # None: the profile has problems, already recorded
        parent = self._parents.get(name)
        base: Settings_ | None = {}
        if parent is not None:
            body = self.sections["profiles"][name]
            base = self._profile(parent, body, ("profiles", name), (*below, name))
        settings: Settings_ | None = None
        if own is not None and base is not None:
            settings = {**base, **BUILTIN_PROFILES.get(name, {}), **own}
        return self._resolved.setdefault(name, settings)

    def _part(self, model: type[Settings], body: Entry, path: KeyPath) -> Settings_ | None:
        """The keys one part gives, validated, its exception classes imported; None once
        its problems are recorded."""
        settings, problems = validate(model, body, path)
        self.problems += problems
        if settings is None:
            listed = self._alone(model, body, path, "ignore_exceptions")
            if listed:
                self._import(listed, body, path)
            self._import_judge(self._alone(model, body, path, "failure_on_result"), body, path)
            return None
        given = settings.given()
        if "ignore_exceptions" in given:
            classes = self._import(given["ignore_exceptions"], body, path)
            if classes is None:
                return None
            given["ignore_exceptions"] = classes
        if isinstance(given.get("failure_on_result"), str):
            judge = self._import_judge(given["failure_on_result"], body, path)
            if judge is None:
                return None
            given["failure_on_result"] = judge
        return given

    def _name(self, key: str, part: Settings_ | None, body: Entry, path: KeyPath) -> str | None:
        """The profile a part names under ``key`` (``profile``, or a profile's ``extends``),
        taken out of its settings; from a part with problems, if valid by itself."""
        if part is not None:
            name: str | None = part.pop(key, None)
            return name
        alone: str | None = self._alone(_REFERENCES[key], body, path, key)
        return alone

    def _alone(self, model: type[Settings], body: Entry, path: KeyPath, key: str) -> Any:
        """``key`` of a part that has problems, if it is valid by itself: checking it too
        lists every problem in one run (its own problems are already recorded)."""
        given = body.value.get(key) if isinstance(body.value, dict) else None
        if given is None:
            return None
        alone, _ = validate(model, Entry({key: given}, body.where), path)
        return None if alone is None else getattr(alone, key)

    def _import_judge(self, item: Any, body: Entry, path: KeyPath) -> Callable[..., Any] | None:
        """The ``failure_on_result`` function a dotted path names; None once reported."""
        if not isinstance(item, str):
            return item if callable(item) else None
        try:
            return import_callable(item)
        except ImportFailure as failure:
            at: KeyPath = ("failure_on_result",)
            where = body.locate(at)
            self.problems.append(problem(str(failure), where, (*path, *at), item, show=True))
            return None

    def _import(
        self, paths: list[str | type[BaseException]], body: Entry, path: KeyPath
    ) -> tuple[type[BaseException], ...] | None:
        classes: list[type[BaseException]] = []
        for index, item in enumerate(paths):
            try:
                classes.append(item if isinstance(item, type) else self._importer.get(item))
            except ImportFailure as failure:
                at: KeyPath = ("ignore_exceptions", index)
                self.problems.append(
                    problem(str(failure), body.locate(at), (*path, *at), item, show=True)
                )
        return tuple(classes) if len(classes) == len(paths) else None
