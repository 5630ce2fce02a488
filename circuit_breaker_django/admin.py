"""The circuit-breaker admin: every registry breaker with its live state, and manual control.

``Breaker`` rows are only the anchor (URLs, permissions, admin history); every value
shown comes from the live registry after one store round trip per page, so the admin
tells the truth whatever the store (memory, django, redis). Transitions are read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from circuit_breaker import BreakerStatus
from circuit_breaker.core.state import MANUAL_STATES, CircuitBreakerState
from circuit_breaker.errors import ConfigError, StoreUnavailableError
from circuit_breaker.format import (
    STATE_LABELS,
    format_duration,
    next_retry_label,
    percent,
    retry_phase_label,
    setting_items,
    short_phase,
    state_label,
    threshold_percent,
    tripped_by_label,
    unreachable_notice,
    window_size_label,
    would_reject_label,
)
from circuit_breaker.stores import BreakerStore
from circuit_breaker_django import actions, registry
from circuit_breaker_django.forms import OpenForForm
from circuit_breaker_django.models import Breaker, Transition
from circuit_breaker_django.templatetags.breaker_timeline import history, sparklines
from circuit_breaker_django.templatetags.circuit_breaker_admin import state_badge
from circuit_breaker_django.timeline import WINDOWS, default_window

logger = logging.getLogger("circuit_breaker")

RECENT_TRANSITIONS = 20
_STATUSES = "_circuit_breaker_statuses"  # request attribute: the page's statuses
_ROW_STATUS = "live_status"  # row attribute: the breaker's live status (set by the change list)
_ROW_SPARKLINE = "sparkline"  # row attribute: its last-24-hours picture (idem)

if TYPE_CHECKING:
    BreakerModelAdmin = admin.ModelAdmin[Breaker]
    TransitionModelAdmin = admin.ModelAdmin[Transition]
else:  # ModelAdmin is generic only in django-stubs, not at run time
    BreakerModelAdmin = TransitionModelAdmin = admin.ModelAdmin


def page_statuses(request: HttpRequest) -> dict[str, BreakerStatus]:
    """Every registry breaker's status, read once per request (filters and rows)."""
    statuses: dict[str, BreakerStatus] | None = getattr(request, _STATUSES, None)
    if statuses is None:
        statuses = registry.statuses()  # one store round trip for all breakers
        setattr(request, _STATUSES, statuses)
    return statuses


@dataclass(frozen=True, slots=True)
class ManualAction:
    """One manual control, offered as a bulk action and as a detail-page button."""

    name: str  # URL name suffix and admin action prefix
    url_part: str
    verb: str  # button and log wording
    target_state: str
    effect: str  # what the confirmation page says will happen
    perform: Callable[..., None]  # (breaker, request.user, **the form's arguments)
    asks_duration: bool = False  # its confirmation page has an OpenForForm


MANUAL_ACTIONS: dict[str, ManualAction] = {
    action.name: action
    for action in (
        ManualAction(
            name="reset",
            url_part="reset",
            verb="Reset",
            target_state="closed",
            effect="The breaker goes back to automatic operation: CLOSED, failure count and "
            "trips at zero. Calls reach the dependency again at once.",
            perform=actions.reset,
        ),
        ManualAction(
            name="force_open",
            url_part="force-open",
            verb="Force open",
            target_state="forced_open",
            effect="Every call is rejected with CircuitOpenError and no probe is made, "
            "until someone resets the breaker.",
            perform=actions.force_open,
        ),
        ManualAction(
            name="disable",
            url_part="disable",
            verb="Disable",
            target_state="disabled",
            effect="Every call passes and no failure is counted: the breaker protects "
            "nothing until someone resets it.",
            perform=actions.disable,
        ),
        ManualAction(
            name="open_for",
            url_part="open-for",
            verb="Open for",
            target_state="open",
            effect="Every call is rejected with CircuitOpenError for the duration below, in "
            "every process sharing the store; then one probe call decides, as after any "
            "opening. An open breaker's deadline only ever moves later; a forced-open or "
            "disabled breaker is left as it is.",
            perform=actions.open_for,
            asks_duration=True,
        ),
    )
}


class LiveStateFilter(admin.SimpleListFilter):
    """Filter by the state the registry reports now (not the stored column)."""

    title = "state"
    parameter_name = "state"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [(state.value, label) for state, (label, _meaning) in STATE_LABELS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        wanted = self.value()
        if wanted is None:
            return queryset
        statuses = page_statuses(request)
        return queryset.filter(name__in=[n for n, s in statuses.items() if s.state == wanted])


class ProfileFilter(admin.SimpleListFilter):
    """Filter by the profile each breaker was built from (from the YAML, not the table)."""

    title = "profile"
    parameter_name = "profile"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        profiles = {status.profile for status in page_statuses(request).values()}
        return [(profile, profile) for profile in sorted(p for p in profiles if p)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        wanted = self.value()
        if wanted is None:
            return queryset
        statuses = page_statuses(request)
        return queryset.filter(name__in=[n for n, s in statuses.items() if s.profile == wanted])


class BreakerChangeList(ChangeList):
    """Attaches each row's live status, so the columns read it without another query."""

    result_list: Sequence[Breaker]

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        statuses = page_statuses(request)
        rows = list(self.result_list)
        row_statuses = {row.name: statuses.get(row.name) for row in rows}
        pictures = sparklines(
            {name: None if s is None else s.state.value for name, s in row_statuses.items()}
        )
        for row in rows:
            setattr(row, _ROW_STATUS, row_statuses[row.name])
            setattr(row, _ROW_SPARKLINE, pictures[row.name])
        self.result_list = rows


def breakable(identifier: str) -> SafeString:
    """``orders_db`` with a line-break opportunity after each underscore: long
    snake_case names wrap in a narrow column instead of widening the table."""
    return format_html_join(SafeString("_<wbr>"), "{}", ((part,) for part in identifier.split("_")))


def _status(row: Breaker) -> BreakerStatus | None:
    status: BreakerStatus | None = getattr(row, _ROW_STATUS, None)
    return status


def _counted(status: BreakerStatus) -> SafeString:
    """``2 / 3`` for a failure streak; ``12% / 50%`` (the window's failure rate and the
    rate that opens the breaker) for a breaker with no streak rule."""
    threshold = status.config.failure_threshold
    if threshold is not None:
        return format_html(
            '<span class="cb-nowrap">{} / {}</span>', status.failure_count, threshold
        )
    totals, rules = status.window, status.config.window
    if totals is None or rules is None:
        return SafeString("")
    if rules.failure_rate is not None:
        rule, rate, limit = "", totals.failure_rate, rules.failure_rate
    elif rules.slow_call_rate is not None:
        rule, rate, limit = "slow ", totals.slow_call_rate, rules.slow_call_rate
    else:
        return SafeString("")
    return format_html(
        '<span class="cb-nowrap" title="{}rate of the last {} ({} calls) / the rate that '
        'opens the breaker">{}{} / {}</span>',
        rule,
        window_size_label(rules),
        round(totals.calls),
        rule,
        percent(rate),
        threshold_percent(limit),
    )


def streak_text(status: BreakerStatus) -> str:
    """The detail page's failure count, or why there is none."""
    threshold = status.config.failure_threshold
    if threshold is None:
        return "no streak rule (failure_threshold off): the rate rules below open the breaker"
    return f"{status.failure_count} of {threshold} in a row before opening"


def window_rows(status: BreakerStatus, store: BreakerStore) -> list[tuple[str, str, str]]:
    """The rate window as (label, value, note) rows, or none without a window."""
    totals, rules = status.window, status.config.window
    if totals is None or rules is None:
        return []
    if rules.calls is not None:
        size = f"the last {rules.calls} calls", "counted in one-second buckets"
    else:
        bucket = format_duration(rules.bucket_seconds, compact=True, fractions=True)
        size = f"the calls of the last {window_size_label(rules)}", f"slides {bucket} at a time"
    if not status.store.reachable:
        source = "this process's own calls: the shared store cannot be read"
    elif store.shared:
        flush = format_duration(store.flush_interval, compact=True, fractions=True)
        source = f"the whole fleet's calls, up to one flush interval ({flush}) ago"
    else:
        source = "this process's calls"
    rows = [
        ("Window", size[0], size[1]),
        ("Counted", source, ""),
        ("Minimum calls", str(rules.minimum_calls), "no verdict with fewer calls in the window"),
        ("Calls", str(round(totals.calls)), ""),
        ("Failures", str(round(totals.failures)), ""),
        ("Failure rate", percent(totals.failure_rate), _opens_at(rules.failure_rate)),
    ]
    if rules.slow_call_seconds is None:
        return [*rows, ("Slow calls", "not timed", "no slow_call_duration is set")]
    slow_after = format_duration(rules.slow_call_seconds, compact=True, fractions=True)
    return [
        *rows,
        ("Slow calls", str(round(totals.slow)), f"{slow_after} or longer, failed or not"),
        ("Slow-call rate", percent(totals.slow_call_rate), _opens_at(rules.slow_call_rate)),
    ]


def _opens_at(threshold: float | None) -> str:
    if threshold is None:
        return "watched only: no rule opens the breaker on it"
    return f"opens the breaker at {threshold_percent(threshold)} or more"


TIMELINE_PARAMETER = "timeline"


def timeline_context(request: HttpRequest, name: str, now: datetime) -> dict[str, Any]:
    """The detail page's timeline range (``?timeline=1h|24h|7d|all``, else chosen from the
    breaker's history) and the links to the other ranges, keeping the other parameters."""
    known = history(name)
    default = default_window(now, known.first_seen, known.last_incident)
    requested = request.GET.get(TIMELINE_PARAMETER)
    chosen = requested if requested in WINDOWS else default
    links = []
    for key, window in WINDOWS.items():
        query = request.GET.copy()
        query[TIMELINE_PARAMETER] = key
        links.append((window, f"?{query.urlencode()}#breaker-timeline", key == chosen))
    return {
        "first_seen": known.first_seen,
        "timeline_window": chosen,
        "timeline_ranges": links,
        "timeline_unknown": requested if requested is not None and requested != chosen else None,
        "timeline_default": WINDOWS[default],
    }


@admin.register(Breaker)
class BreakerAdmin(BreakerModelAdmin):
    # Six columns, none wider than it must be (two short lines where two facts belong
    # together), so the list fits a laptop screen beside the admin's two sidebars.
    list_display = (
        "breaker_name",
        "state_badge",
        "failures",
        "retry",
        "last_failure",
        "last_24_hours",
    )
    list_display_links = ("breaker_name",)
    list_filter = (LiveStateFilter, ProfileFilter)
    search_fields = ("name",)
    ordering = ("name",)
    list_per_page = 100
    actions = ("reset_breakers", "force_open_breakers", "disable_breakers", "open_for_breakers")
    fields = ("name",)
    readonly_fields = ("name",)
    confirmation_template = "admin/circuit_breaker_django/breaker/action_confirmation.html"
    config_error_template = "admin/circuit_breaker_django/breaker/config_error.html"

    # -- what a user may do ------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the registry (YAML) decides which breakers exist

    def has_delete_permission(self, request: HttpRequest, obj: Breaker | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Breaker]:
        """Rows of breakers the registry still has; rows of removed ones stay hidden."""
        return super().get_queryset(request).filter(name__in=list(registry.names()))

    # -- the list ----------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BreakerChangeList

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        unavailable = self._config_error(request)
        if unavailable is not None:
            return unavailable
        context = {
            "title": "Circuit breakers",
            "read_at": timezone.now(),
            "store_notice": unreachable_notice(page_statuses(request).values()),
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})

    @admin.display(description="last 24 h")
    def last_24_hours(self, row: Breaker) -> SafeString:
        """The state sparkline drawn from the stored transitions (see timeline.py)."""
        picture: SafeString = getattr(row, _ROW_SPARKLINE, SafeString(""))
        return picture

    @admin.display(description="name", ordering="name")
    def breaker_name(self, row: Breaker) -> SafeString:
        """The name, breakable after each underscore, over the profile it was built from."""
        name = breakable(row.name)
        status = _status(row)
        if status is None or not status.profile:
            return name
        return format_html('{}<span class="cb-sub">profile {}</span>', name, status.profile)

    @admin.display(description="state")
    def state_badge(self, row: Breaker) -> SafeString:
        """The badge, and under it whether the breaker is critical (it fails the health
        check) or observing (it rejects nothing: what it would have rejected)."""
        status = _status(row)
        if status is None:
            return state_badge(None)
        badge = state_badge(status.state)
        observing = would_reject_label(status)
        if observing is not None:
            return format_html(
                '{}<span class="cb-sub cb-observing" title="{}">observing: {}</span>',
                badge,
                "Observe mode: no call is rejected; the state is what enforcing would do.",
                observing,
            )
        if not status.critical:
            return badge
        return format_html(
            '{}<strong class="cb-sub cb-critical" title="{}">critical</strong>',
            badge,
            "While it is not closed, the health check fails.",
        )

    @admin.display(description="failures")
    def failures(self, row: Breaker) -> SafeString | None:
        """Counted failures of the threshold (or the rate of its rate rule), over the trips
        (consecutive breaks) if any."""
        status = _status(row)
        if status is None:
            return None
        counted = _counted(status)
        trips = status.consecutive_breaks
        if not trips:
            return counted
        return format_html(
            '{}<span class="cb-sub" title="consecutive circuit breaks">{} trip{}</span>',
            counted,
            trips,
            "" if trips == 1 else "s",
        )

    @admin.display(description="retry")
    def retry(self, row: Breaker) -> str | SafeString | None:
        """When the next probe is due, over the retry phase: one column, two short lines."""
        status = _status(row)
        if status is None or status.state is CircuitBreakerState.CLOSED:
            return None
        if status.state in MANUAL_STATES:
            return retry_phase_label(status)
        at = status.next_retry_at
        iso = "" if at is None else at.isoformat(timespec="seconds")
        return format_html(
            '<span class="cb-nowrap"><time datetime="{}" title="{}">{}</time></span>'
            '<span class="cb-sub" title="{}">{}</span>',
            iso,
            iso,
            next_retry_label(status),
            retry_phase_label(status),
            short_phase(status),
        )

    @admin.display(description="last failure")
    def last_failure(self, row: Breaker) -> SafeString | None:
        status = _status(row)
        failure = None if status is None else status.last_failure
        if failure is None:
            return None
        return format_html(
            '<span class="cb-truncate" title="{}: {}">{}</span>',
            failure.type,
            failure.message,
            failure.type,
        )

    # -- the read-only detail page -----------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """A page to read, never a form to save: state changes go through the actions."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        unavailable = self._config_error(request)
        if unavailable is not None:
            return unavailable
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        unavailable = self._config_error(request)
        if unavailable is not None:
            return unavailable
        return super().history_view(request, object_id, extra_context)

    def _config_error(self, request: HttpRequest) -> TemplateResponse | None:
        """A page saying why the registry cannot be built, or None when it can.

        Bad YAML or settings are the operator's to fix: staff see the problems (as
        ``manage.py check`` words them) on an admin page instead of a server error.
        """
        try:
            registry.names()
        except (ConfigError, ImproperlyConfigured) as exc:
            logger.error("circuit breaker admin: the registry cannot be built: %s", exc)
            request.current_app = self.admin_site.name
            context = {
                **self.admin_site.each_context(request),
                "title": "Circuit breakers: configuration error",
                "opts": self.opts,
                "error": str(exc),
            }
            return TemplateResponse(request, self.config_error_template, context, status=503)
        return None

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Breaker | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self._detail_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _detail_context(self, request: HttpRequest, row: Breaker) -> dict[str, Any]:
        status = registry.statuses([row.name])[row.name]
        transitions = (
            Transition.objects.filter(breaker=row.name)
            .select_related("user")
            .order_by("-at", "-pk")[:RECENT_TRANSITIONS]
        )
        transition_opts = Transition._meta
        all_transitions_url = None
        if request.user.has_perm(f"{transition_opts.app_label}.view_{transition_opts.model_name}"):
            all_transitions_url = (
                reverse(
                    f"admin:{transition_opts.app_label}_{transition_opts.model_name}_changelist",
                    current_app=self.admin_site.name,
                )
                + "?"
                + urlencode({"breaker": row.name})
            )
        buttons = []
        if self.has_change_permission(request, row):
            buttons = [
                (action, self._action_url(action, row)) for action in MANUAL_ACTIONS.values()
            ]
        now = timezone.now()
        return {
            "title": row.name,
            "subtitle": "Circuit breaker",
            "status": status,
            "state_label": state_label(status.state),
            "retry_phase": retry_phase_label(status),
            "next_retry": next_retry_label(status),
            "streak": streak_text(status),
            "tripped_by": None if status.tripped_by is None else tripped_by_label(status),
            "window_rows": window_rows(status, registry.get(row.name).store),
            "would_reject": would_reject_label(status),
            "config_items": setting_items(status.config),
            "store_notice": unreachable_notice([status]),
            "transitions": transitions,
            "all_transitions_url": all_transitions_url,
            "action_buttons": buttons,
            "read_at": now,
            **timeline_context(request, row.name, now),
        }

    # -- manual actions: bulk on the list, buttons on the detail page ------------------

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        manual = [
            path(
                f"<path:object_id>/{action.url_part}/",
                self.admin_site.admin_view(self.manual_action_view),
                {"action_name": action.name},
                name=f"{info}_{action.name}",
            )
            for action in MANUAL_ACTIONS.values()
        ]
        return manual + super().get_urls()

    def _action_url(self, action: ManualAction, row: Breaker) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{action.name}",
            args=(quote(row.pk),),
            current_app=self.admin_site.name,
        )

    def manual_action_view(
        self, request: HttpRequest, object_id: str, action_name: str
    ) -> HttpResponseBase:
        """GET: the confirmation page. POST (CSRF-checked by admin_view): do it."""
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
        unavailable = self._config_error(request)
        if unavailable is not None:
            return unavailable
        action = MANUAL_ACTIONS[action_name]
        row = self.get_object(request, unquote(object_id))
        if row is None:
            # Private ModelAdmin helper (absent from django-stubs): the same warning and
            # redirect the admin's own change view gives for a missing object.
            missing: HttpResponseRedirect = self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined]
                request, self.opts, object_id
            )
            return missing
        if not self.has_change_permission(request, row):
            raise PermissionDenied
        if request.method == "POST":
            form = OpenForForm(request.POST) if action.asks_duration else None
            if form is not None and not form.is_valid():
                return self._confirmation(request, action, [row], bulk=False, form=form)
            self._apply(request, action, [row], form)
            return HttpResponseRedirect(
                reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                    args=(quote(row.pk),),
                    current_app=self.admin_site.name,
                )
            )
        return self._confirmation(request, action, [row], bulk=False)

    @admin.action(permissions=["change"], description="Reset selected circuit breakers")
    def reset_breakers(
        self, request: HttpRequest, queryset: QuerySet[Breaker]
    ) -> TemplateResponse | None:
        return self._bulk(request, queryset, MANUAL_ACTIONS["reset"])

    @admin.action(permissions=["change"], description="Force open selected circuit breakers")
    def force_open_breakers(
        self, request: HttpRequest, queryset: QuerySet[Breaker]
    ) -> TemplateResponse | None:
        return self._bulk(request, queryset, MANUAL_ACTIONS["force_open"])

    @admin.action(permissions=["change"], description="Disable selected circuit breakers")
    def disable_breakers(
        self, request: HttpRequest, queryset: QuerySet[Breaker]
    ) -> TemplateResponse | None:
        return self._bulk(request, queryset, MANUAL_ACTIONS["disable"])

    @admin.action(permissions=["change"], description="Open selected circuit breakers for…")
    def open_for_breakers(
        self, request: HttpRequest, queryset: QuerySet[Breaker]
    ) -> TemplateResponse | None:
        return self._bulk(request, queryset, MANUAL_ACTIONS["open_for"])

    def _bulk(
        self, request: HttpRequest, queryset: QuerySet[Breaker], action: ManualAction
    ) -> TemplateResponse | None:
        """First POST from the list: confirm. The confirmation's POST (post=yes): apply."""
        rows = list(queryset.order_by("name"))
        if request.POST.get("post") != "yes":
            return self._confirmation(request, action, rows, bulk=True)
        form = OpenForForm(request.POST) if action.asks_duration else None
        if form is not None and not form.is_valid():
            return self._confirmation(request, action, rows, bulk=True, form=form)
        self._apply(request, action, rows, form)
        return None  # the admin redirects back to the list

    def _confirmation(
        self,
        request: HttpRequest,
        action: ManualAction,
        rows: Sequence[Breaker],
        *,
        bulk: bool,
        form: OpenForForm | None = None,
    ) -> TemplateResponse:
        statuses = registry.statuses([row.name for row in rows])
        request.current_app = self.admin_site.name
        title = f"{action.verb}: are you sure?"
        if action.asks_duration:
            title = "Open for how long?"
            form = form or OpenForForm()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "duration_form": form,
            "opts": self.opts,
            "manual_action": action,
            "breakers": [(row, statuses[row.name]) for row in rows],
            "bulk_action": f"{action.name}_breakers" if bulk else None,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "single": None if bulk else rows[0],
            "media": self.media,
        }
        return TemplateResponse(request, self.confirmation_template, context)

    def _apply(
        self,
        request: HttpRequest,
        action: ManualAction,
        rows: Sequence[Breaker],
        form: OpenForForm | None = None,
    ) -> None:
        """Perform the action for ``request.user``, log each breaker, tell the user.

        An action the shared store did not take is reported as an error and logged
        nowhere: an audit trail must never record what did not happen. Nor is "Open
        for…" on a forced-open or disabled breaker, which it leaves alone.
        """
        arguments = {} if form is None else form.arguments()
        verb = action.verb
        if "seconds" in arguments:
            verb += f" {format_duration(arguments['seconds'], compact=True)}"
        done: list[str] = []
        refused: list[str] = []
        untouched: list[str] = []
        for row in rows:
            breaker = registry.get(row.name)
            before = breaker.state
            try:
                action.perform(breaker, request.user, **arguments)
            except StoreUnavailableError as exc:
                logger.error("circuit breaker %r: %s refused: %s", row.name, verb, exc)
                refused.append(row.name)
                continue
            after = breaker.state
            if action.asks_duration and after is before and after in MANUAL_STATES:
                untouched.append(row.name)
                continue
            self.log_change(
                request, row, f"{verb}: state {state_label(before)} → {state_label(after)}."
            )
            done.append(row.name)
        if done:
            plural = "s" if len(done) != 1 else ""
            self.message_user(
                request,
                f"{verb}: {len(done)} circuit breaker{plural} ({', '.join(done)}).",
                messages.SUCCESS,
            )
        if untouched:
            self.message_user(
                request,
                f"{verb} left {', '.join(untouched)} as they are: a forced-open or disabled "
                "breaker waits for a reset.",
                messages.WARNING,
            )
        if refused:
            self.message_user(
                request,
                f"{verb} not applied to {', '.join(refused)}: the shared store cannot "
                "be reached, and an action only this process would see must not look done. "
                "Try again once it answers.",
                messages.ERROR,
            )


_USERNAME_FIELD = get_user_model().USERNAME_FIELD


@admin.register(Transition)
class TransitionAdmin(TransitionModelAdmin):
    """Every state change, automatic or manual, with who asked for it: read-only."""

    list_display = ("when", "breaker_name", "change", "reason_and_origin", "who", "trips")
    list_filter = ("breaker", "to_state", "reason", "origin")
    date_hierarchy = "at"
    search_fields = ("breaker", "reason", "actor", f"user__{_USERNAME_FIELD}")
    ordering = ("-at", "-pk")
    list_select_related = ("user",)
    fields = (
        "breaker",
        "from_state",
        "to_state",
        "reason",
        "origin",
        "user",
        "actor",
        "consecutive_breaks",
        "when",
    )
    readonly_fields = ("when",)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {"title": "Transitions", **(extra_context or {})})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Transition | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Transition | None = None) -> bool:
        return False

    @admin.display(description="at", ordering="at")
    def when(self, transition: Transition) -> SafeString:
        """To the second (breakers change state within the same minute); the date and
        the time may wrap onto two lines, never inside either."""
        at = timezone.localtime(transition.at)
        return format_html(
            '<span class="cb-nowrap">{}</span> <span class="cb-nowrap">{}</span>',
            date_format(at, "Y-m-d"),
            date_format(at, "H:i:s T"),
        )

    @admin.display(description="breaker", ordering="breaker")
    def breaker_name(self, transition: Transition) -> SafeString:
        return breakable(transition.breaker)

    @admin.display(description="change", ordering="to_state")
    def change(self, transition: Transition) -> SafeString:
        """``from → to``; the line may break after the arrow."""
        return format_html(
            '<span class="cb-nowrap">{} <span aria-label="to">→</span></span> {}',
            state_badge(transition.from_state),
            state_badge(transition.to_state),
        )

    @admin.display(description="reason", ordering="reason")
    def reason_and_origin(self, transition: Transition) -> SafeString:
        """The reason, over whether the change was automatic or manual."""
        return format_html(
            '{}<span class="cb-sub">{}</span>',
            breakable(transition.reason),
            transition.get_origin_display(),
        )

    @admin.display(description="by")
    def who(self, transition: Transition) -> str | None:
        if transition.user is not None:
            username: str = transition.user.get_username()
            return username
        actor: str | None = transition.actor
        return actor

    @admin.display(description="trips", ordering="consecutive_breaks")
    def trips(self, transition: Transition) -> int:
        """Consecutive circuit breaks after the change (the name the breaker list uses)."""
        return transition.consecutive_breaks
