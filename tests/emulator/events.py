"""core/v1 Events as the controllers record them (what `kubectl describe` and `kubectl get events` show)."""

import hashlib
import time

from emulator.errors import ApiError
from emulator.store import now

REPEAT_SECONDS = 5.0        # an identical event is counted again at most this often (no write storm from reconciles)
_last = {}                  # (cluster, uid, reason, message) -> (event name, monotonic time of the last count)


def record(cluster, obj, event_type, reason, message, component):
    """Record (or count again) an Event about obj: event_type Normal|Warning, e.g. reason FailedCreate."""
    meta = obj["metadata"]
    key = (cluster.name, meta.get("uid"), reason, message)
    seen = _last.get(key)
    stamp = now()
    if seen is not None:
        name, when = seen
        if time.monotonic() - when < REPEAT_SECONDS:
            return
        event = cluster.get("v1", "Event", name, meta.get("namespace") or "default")
        if event is not None:
            try:
                cluster.patch("v1", "Event", name, {"count": int(event.get("count") or 1) + 1, "lastTimestamp": stamp},
                              meta.get("namespace") or "default")
                _last[key] = (name, time.monotonic())
                return
            except ApiError:
                pass
    digest = hashlib.sha1(("%s/%s/%s/%s" % key).encode()).hexdigest()[:16]
    name = "%s.%s" % (meta["name"], digest)
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"name": name, "namespace": meta.get("namespace") or "default"},
             "involvedObject": {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta["name"],
                                "namespace": meta.get("namespace") or "", "uid": meta.get("uid"),
                                "resourceVersion": meta.get("resourceVersion")},
             "reason": reason, "message": message, "type": event_type, "count": 1,
             "firstTimestamp": stamp, "lastTimestamp": stamp, "eventTime": None,
             "source": {"component": component}, "reportingComponent": component, "reportingInstance": ""}
    if not meta.get("namespace"):
        del event["involvedObject"]["namespace"]
    try:
        cluster.create(event)
    except ApiError as exc:
        if exc.code not in (404, 409):    # its namespace is gone, or a race
            raise
    _last[key] = (name, time.monotonic())


def of(cluster, obj):
    """The Events about obj (by uid), oldest first."""
    meta = obj["metadata"]
    events = cluster.list("v1", "Event", meta.get("namespace") or "default", field_selector="involvedObject.uid=%s" % meta.get("uid"))
    return sorted(events, key=lambda e: (e.get("firstTimestamp") or "", e["metadata"].get("resourceVersion") or ""))
