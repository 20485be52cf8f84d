"""The event bus: one small interface, an in-process backend and a Redis pub/sub backend."""

from app.bus.base import GAP, Bus, Deliver, Event, make_bus

__all__ = ["GAP", "Bus", "Deliver", "Event", "make_bus"]
