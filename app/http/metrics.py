"""Prometheus metrics, one registry per app (so several apps in one test process do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sockets = Gauge("switchboard_websockets", "Open websockets", ["kind"], registry=self.registry)
        self.frames_in = Counter(
            "switchboard_ws_frames_in_total", "Websocket frames received", ["kind"], registry=self.registry
        )
        self.frame_errors = Counter(
            "switchboard_ws_frame_errors_total",
            "Websocket frames refused",
            ["kind", "code"],
            registry=self.registry,
        )
        self.events = Counter(
            "switchboard_events_delivered_total",
            "Events delivered to this process",
            ["type"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "switchboard_ws_slow_consumers_total", "Sockets closed for falling behind", registry=self.registry
        )
