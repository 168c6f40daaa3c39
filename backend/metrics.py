"""The process-side Prometheus metrics (counters and histograms) and the `/metrics` exposition.

What a process counts lives here: requests (by route template and status) and their latency, scans
(by channel and the status shown) and notification delivery attempts (by channel and outcome). What is
read from the database (notifications by status, queue age, outbox backlog, log size, checkpoint age,
overdue items) is computed when scraped (``backend.services.gauges``) and added by ``render``.

Multiprocess mode: when ``PROMETHEUS_MULTIPROC_DIR`` is set *before this module is first imported*
(``backend.server.prepare_metrics_dir`` does it for ``serve --workers N``; an operator sets it for
`serve` and `yangguang worker` alike to see the workers' counters), every process writes its counters
to memory-mapped files in that folder and any process's ``render`` sums them all
(prometheus-client's ``MultiProcessCollector``). Otherwise the counters live in this process.

Metric names and labels are an interface (dashboards and alerts depend on them):
``tests/backend/test_metrics.py`` lists them. Label values come from closed sets only (declared route
templates, HTTP statuses, enum values), never from a request's own text.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from backend.models.enums import CredentialStatus, NotificationChannel, ScanChannel

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# No `_created` series: multiprocess mode has none, and the exposition is the same in both modes.
disable_created_metrics()
# Our own registry: the exposition is exactly these metrics (no interpreter internals), the same in
# single-process and multiprocess mode.
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter("yangguang_http_requests", "HTTP requests answered, by method, route template and status",
                        ["method", "route", "status"], registry=REGISTRY)
HTTP_DURATION = Histogram("yangguang_http_request_duration_seconds",
                          "Time from a request's head to its handler's answer (bodies streamed after it excluded)",
                          ["method", "route"], registry=REGISTRY,
                          buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
SCANS = Counter("yangguang_scans", "Credential scans (QR codes checked), by channel and the status shown",
                ["channel", "status"], registry=REGISTRY)
NOTIFICATION_ATTEMPTS = Counter("yangguang_notification_attempts",
                                "Notification delivery attempts, by channel and outcome",
                                ["channel", "outcome"], registry=REGISTRY)

INVALID = "invalid"  # a scan of a token that names no card (forged, mistyped, foreign)
ATTEMPT_OUTCOMES = ("sent", "retry", "failed", "fallback", "capped", "skipped")
UNMATCHED_ROUTE = "unmatched"  # requests the router matched to no route (their path is not a label)

# Every closed label set starts at zero, so a rate over it exists from the first scrape.
for _channel in ScanChannel:
    for _status in (*(s.value for s in CredentialStatus), INVALID):
        SCANS.labels(_channel.value, _status)
for _nchannel in NotificationChannel:
    for _outcome in ATTEMPT_OUTCOMES:
        NOTIFICATION_ATTEMPTS.labels(_nchannel.value, _outcome)

# Pre-bound children of the scan counter: the scan path does one increment, no label lookup.
SCANS_INVALID = {channel: SCANS.labels(channel.value, INVALID) for channel in ScanChannel}


def multiprocess() -> bool:
    """Whether counters go to the shared folder (decided when prometheus-client was first imported)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def check_mode() -> None:
    """Fail loudly if the folder is set but prometheus-client was imported before it was: each process
    would then count alone and `/metrics` would show one process's share as the total."""
    if os.environ.get(MULTIPROC_ENV) and not multiprocess():
        raise RuntimeError(f"{MULTIPROC_ENV} was set after prometheus_client was imported")


def count_scans(counts: Iterable[tuple[tuple[ScanChannel, CredentialStatus], int]]) -> None:
    for (channel, status), n in counts:
        SCANS.labels(channel.value, status.value).inc(n)


def count_attempts(channel: NotificationChannel, outcomes: Iterable[str]) -> None:
    for outcome in outcomes:
        NOTIFICATION_ATTEMPTS.labels(channel.value, outcome).inc()


class RequestCounter:
    """The children of the request counter and histogram per route and status, bound once: a request
    costs two dictionary lookups, an increment and an observation."""

    def __init__(self) -> None:
        self._by_route: dict[object, Callable[[int, float], None]] = {}
        self._unmatched = self.bound("other", UNMATCHED_ROUTE)

    def observe(self, route: Any, status: int, seconds: float) -> None:
        """``route``: aiohttp's matched route (``request.match_info.route``)."""
        observe = self._by_route.get(route)
        if observe is None:
            resource = route.resource
            if resource is None:  # the router's own 404/405 (a new object each time): one bounded bucket
                observe = self._unmatched
            else:
                observe = self._by_route[route] = self.bound(route.method, resource.canonical)
        observe(status, seconds)

    @staticmethod
    def bound(method: str, template: str) -> Callable[[int, float], None]:
        """``observe`` for one route known by its method and template; the protocol's fast answers
        (backend.http.fast), which have no aiohttp route, count into the same series through it."""
        per: dict[int, tuple[Counter, Histogram]] = {}

        def observe(status: int, seconds: float) -> None:
            children = per.get(status)
            if children is None:
                children = per[status] = (HTTP_REQUESTS.labels(method, template, str(status)),
                                          HTTP_DURATION.labels(method, template))
            children[0].inc()
            children[1].observe(seconds)

        return observe


# --- the exposition ---------------------------------------------------------------------------------


@dataclass
class Gauges:
    """Values read from the database at scrape time (backend.services.gauges fills them in)."""

    notifications: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status) -> rows
    queue_age: dict[str, float] = field(default_factory=dict)  # channel -> seconds
    outbox_backlog: int = 0
    log_entries: int = 0
    log_unsigned: int = 0
    checkpoint_age: float = 0.0
    overdue: dict[str, int] = field(default_factory=dict)  # kind -> items
    database_ok: bool = True


class _Snapshot(Collector):
    def __init__(self, gauges: Gauges) -> None:
        self.g = gauges

    def collect(self) -> Iterator[Metric]:
        g = self.g
        ok = GaugeMetricFamily("yangguang_scrape_database_ok",
                               "1 when the database answered this scrape; 0: the gauges below are missing")
        ok.add_metric([], 1.0 if g.database_ok else 0.0)
        yield ok
        if not g.database_ok:
            return
        rows = GaugeMetricFamily("yangguang_notifications", "Notification rows by channel and status",
                                 labels=["channel", "status"])
        for (channel, status), n in sorted(g.notifications.items()):
            rows.add_metric([channel, status], n)
        yield rows
        age = GaugeMetricFamily("yangguang_notification_queue_age_seconds",
                                "Age of the oldest notification due and not yet claimed by a worker (0: none)",
                                labels=["channel"])
        for channel, seconds in sorted(g.queue_age.items()):
            age.add_metric([channel], seconds)
        yield age
        yield GaugeMetricFamily("yangguang_outbox_backlog",
                                "Notifications committed and due but not yet claimed by a worker",
                                value=g.outbox_backlog)
        yield GaugeMetricFamily("yangguang_log_entries", "Leaves in the transparency log", value=g.log_entries)
        yield GaugeMetricFamily("yangguang_log_unsigned_entries",
                                "Leaves not yet covered by a signed checkpoint", value=g.log_unsigned)
        yield GaugeMetricFamily("yangguang_log_checkpoint_age_seconds",
                                "Seconds since the latest checkpoint (no checkpoint: since the first leaf; "
                                "empty log: 0)", value=g.checkpoint_age if math.isfinite(g.checkpoint_age) else 0.0)
        overdue = GaugeMetricFamily("yangguang_overdue_items",
                                    "Items past their legal deadline, by kind", labels=["kind"])
        for kind, n in sorted(g.overdue.items()):
            overdue.add_metric([kind], n)
        yield overdue


class _Local(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def render(gauges: Gauges) -> bytes:
    """The Prometheus text exposition: this process's counters (or every process's, summed, in
    multiprocess mode) and the scrape-time gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(registry, os.environ[MULTIPROC_ENV])
    else:
        registry.register(_Local())
    registry.register(_Snapshot(gauges))
    return generate_latest(registry)
