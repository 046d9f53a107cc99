"""Prometheus metrics. Counters are per process; queue depth is read from the database at scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry()
MESSAGES_RECEIVED = Counter(
    "guichet_messages_received", "Inbound messages journaled", ["channel"], registry=REGISTRY
)
MESSAGES_PROCESSED = Counter(
    "guichet_messages_processed",
    "Journal items finished, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
PIPELINE_SECONDS = Histogram(
    "guichet_pipeline_latency_seconds",
    "Time from journal commit to ticket",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
STAGE_SECONDS = Histogram(
    "guichet_pipeline_stage_seconds",
    "Time spent in each pipeline stage (gateway.pipeline.STAGES), per journal item",
    ["stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
    registry=REGISTRY,
)
OUTBOX_SENT = Counter(
    "guichet_outbox_sent", "Outgoing messages", ["channel", "outcome"], registry=REGISTRY
)


class DepthCollector(Collector):
    """Reads queue depths at scrape time so that every process reports the shared truth."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depths = self.read()
        queue = GaugeMetricFamily("guichet_queue_depth", "Unassigned open tickets")
        queue.add_metric([], depths.get("queue", 0))
        journal = GaugeMetricFamily("guichet_journal_pending", "Journal items not yet processed")
        journal.add_metric([], depths.get("journal", 0))
        yield queue
        yield journal


class ChannelCollector(Collector):
    """Per-channel backlog, last message received and health, read at scrape time."""

    def __init__(self, read: Callable[[], list[dict[str, Any]]]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = GaugeMetricFamily(
            "guichet_channel_backlog", "Items waiting, per channel", labels=["channel", "queue"]
        )
        received = GaugeMetricFamily(
            "guichet_channel_last_received_timestamp_seconds",
            "When the channel last received a message",
            labels=["channel"],
        )
        healthy = GaugeMetricFamily(
            "guichet_channel_up", "1 if enabled and its last round succeeded", labels=["channel"]
        )
        failed = GaugeMetricFamily(
            "guichet_channel_outbox_failed", "Outgoing messages given up", labels=["channel"]
        )
        for c in self.read():
            for queue, count in c["backlog"].items():
                backlog.add_metric([c["name"], queue], count)
            if c["last_received_at"]:
                at = datetime.fromisoformat(c["last_received_at"]).timestamp()
                received.add_metric([c["name"]], at)
            healthy.add_metric([c["name"]], 1 if c["enabled"] and c["ok"] else 0)
            failed.add_metric([c["name"]], c["outbox_failed"])
        yield from (backlog, received, healthy, failed)
