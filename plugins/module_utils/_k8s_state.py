# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a cluster's objects say compared with what the collection wants. PRIVATE to the collection.

Pure functions, no I/O (used by ``_k8s_apply``):

- ``object_changes``: the field paths where a live object does not hold a desired manifest, as server-side apply sees
  it: the live object may hold more (defaults, status, fields of other managers), lists are compared as a whole, and a
  field this manager applied before but no longer applies counts as a change (apply would remove it).
- ``content_digest``: a SHA-256 of JSON data in one canonical form, to compare Secret data and Helm values without
  handing them to a task that prints its arguments.
- readiness: pods of components, workloads (Deployment, StatefulSet, DaemonSet) as ``helm --wait`` sees them,
  conditions and fields of an object.
- Helm release records (the ``sh.helm.release.v1.*`` Secrets): the last revision, its status, chart, values digest and
  workloads; whether a release is converged.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import gzip
import hashlib
import json
import re

try:
    import yaml
    YAML_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
except ImportError:  # pragma: no cover
    yaml = None

HIDDEN = "<hidden>"
SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
PENDING_STATUSES = ("pending-install", "pending-upgrade", "pending-rollback", "failed", "uninstalling", "unknown")


# --- field paths --------------------------------------------------------------------------------------------------


def format_path(parts):
    """metadata.labels['topology.istio.io/network'], spec.listeners, data['tls.key']."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[%d]" % part
        elif SIMPLE_KEY.match(part):
            text += ("." if text else "") + part
        else:
            text += "['%s']" % part
    return text


def _empty(value):
    return value is None or value == {} or value == []


def _scalar_equal(desired, live):
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live or (isinstance(desired, bool) and isinstance(live, bool) and desired == live)
    return desired == live


def differences(desired, live, prefix=()):
    """Paths (tuples) where live does not hold desired. Maps: every desired key; lists: equal length and items; None and
    empty maps or lists in desired also match a missing field (the API server drops them)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [] if _empty(desired) and live is None else [prefix]
        found = []
        for key, value in desired.items():
            if key not in live:
                if not _empty(value):
                    found.append(prefix + (key,))
                continue
            found.extend(differences(value, live[key], prefix + (key,)))
        return found
    if isinstance(desired, (list, tuple)):
        if not isinstance(live, list):
            return [] if _empty(desired) and live is None else [prefix]
        if len(live) != len(desired) or any(differences(item, live_item) for item, live_item in zip(desired, live)):
            return [prefix]
        return []
    if desired is None:
        return []
    return [] if _scalar_equal(desired, live) else [prefix]


def desired_leaves(desired, prefix=()):
    """Every leaf path of a manifest: scalars, lists and empty maps."""
    leaves = set()
    if isinstance(desired, dict) and desired:
        for key, value in desired.items():
            leaves |= desired_leaves(value, prefix + (key,))
    else:
        leaves.add(prefix)
    return leaves


def _fields_leaves(fields, prefix=()):
    leaves = set()
    children = [key for key in (fields or {}) if key != "."]
    if not children:
        leaves.add(prefix)
        return leaves
    if any(not key.startswith("f:") for key in children):
        # items of an associative list or a set (k:, v:, i:): the list as a whole
        leaves.add(prefix)
        return leaves
    for key in children:
        leaves |= _fields_leaves(fields[key], prefix + (key[2:],))
    return leaves


def applied_leaves(live, manager):
    """The leaf paths `manager` applied (server-side apply) to live, from metadata.managedFields."""
    leaves = set()
    for entry in ((live or {}).get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
            leaves |= _fields_leaves(entry.get("fieldsV1") or {})
    return set(leaf for leaf in leaves if leaf and leaf != ("metadata",))


def _covered(path, leaves):
    return any(path[:len(leaf)] == leaf or leaf[:len(path)] == path for leaf in leaves)


def normalise_manifest(obj):
    """A Secret's stringData folded into data (base64), as the API server stores it."""
    if obj.get("kind") == "Secret" and obj.get("apiVersion", "v1") == "v1" and obj.get("stringData"):
        obj = dict(obj)
        data = dict(obj.get("data") or {})
        for key, value in obj.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")
        obj["data"] = data
    return obj


def object_changes(desired, live, manager):
    """The field paths (strings) that applying desired would change in live; None when live does not exist (a create)."""
    if live is None:
        return None
    desired = normalise_manifest(desired)
    changed = set(path for path in differences(desired, live) if path)
    previously = applied_leaves(live, manager)
    if previously:
        wanted = desired_leaves(desired)
        changed |= set(path for path in previously if not _covered(path, wanted) and _lookup(live, path) is not _MISSING)
    return sorted(format_path(path) for path in changed)


_MISSING = object()


def _lookup(obj, path):
    for part in path:
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        else:
            return _MISSING
    return obj


def projection(live, desired):
    """live restricted to the fields of desired (what a diff's "before" shows)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return dict((key, projection(live[key], value)) for key, value in desired.items() if key in live)
    return live


def redact(obj):
    """A copy fit for output: no managedFields, and the values of a Secret's data and stringData hidden."""
    if not isinstance(obj, dict):
        return obj
    obj = dict(obj)
    if isinstance(obj.get("metadata"), dict) and "managedFields" in obj["metadata"]:
        obj["metadata"] = dict((k, v) for k, v in obj["metadata"].items() if k != "managedFields")
    if obj.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(obj.get(key), dict):
                obj[key] = dict((name, HIDDEN) for name in obj[key])
    return obj


# --- digests ------------------------------------------------------------------------------------------------------


def _canonical(value):
    if isinstance(value, dict):
        return dict((str(key), _canonical(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value
    return str(value)


def content_digest(data):
    """sha256:<hex> of JSON-like data in canonical form (sorted keys, integral floats as integers); None and {} are equal."""
    if data is None:
        data = {}
    text = json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- readiness ----------------------------------------------------------------------------------------------------


def _labels(obj):
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def pod_ready(pod):
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(isinstance(cond, dict) and cond.get("type") == "Ready" and cond.get("status") == "True" for cond in conditions)


def pods_not_ready(pods, components):
    """'<component> <ready>/<pods>' for every component (name, labels) with no pod or a pod that is not Ready."""
    result = []
    for component in components:
        selected = [pod for pod in pods if all(_labels(pod).get(key, "") == value for key, value in component["labels"].items())]
        ready = len([pod for pod in selected if pod_ready(pod)])
        if not selected or ready < len(selected):
            result.append("%s %d/%d" % (component["name"], ready, len(selected)))
    return result


def workload_not_ready(obj):
    """Why a Deployment, StatefulSet or DaemonSet is not ready (as helm --wait judges it), or None."""
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    label = "%s %s/%s" % (kind, meta.get("namespace"), meta.get("name"))
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return "%s: the controller has not seen generation %s yet" % (label, meta.get("generation"))
    if kind in ("Deployment", "StatefulSet"):
        want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        ready = int(status.get("readyReplicas") or 0)
        updated = int(status.get("updatedReplicas") or 0)
        if ready < want or updated < want:
            return "%s %d/%d ready (%d updated)" % (label, ready, want, updated)
    elif kind == "DaemonSet":
        want = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        if ready < want or updated < want:
            return "%s %d/%d ready (%d updated)" % (label, ready, want, updated)
    return None


def condition_status(obj, condition_type):
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == condition_type:
            return cond.get("status")
    return None


def field_value(obj, dotted):
    """The value at a dotted path (status.stats), or None."""
    value = _lookup(obj or {}, tuple(dotted.split(".")))
    return None if value is _MISSING else value


def object_not_ready(obj, condition=None, fields=()):
    """Why an object does not meet its wait rule (a condition with a status, fields that must be set), or None."""
    meta = (obj or {}).get("metadata") or {}
    label = "%s %s" % (obj.get("kind"), "/".join(part for part in (meta.get("namespace"), meta.get("name")) if part))
    missing = [name for name in fields if _empty(field_value(obj, name)) and field_value(obj, name) != 0]
    problems = []
    if condition and condition_status(obj, condition["type"]) != condition.get("status", "True"):
        problems.append("%s=%s" % (condition["type"], condition_status(obj, condition["type"]) or "unset"))
    if missing:
        problems.append("no %s" % ", ".join(missing))
    return "%s: %s" % (label, "; ".join(problems)) if problems else None


# --- Helm release records -----------------------------------------------------------------------------------------


def decode_release(secret):
    """The release record (dict) of a Helm release Secret: base64 (the API's) of base64 of gzip of JSON."""
    payload = base64.b64decode(base64.b64decode(((secret.get("data") or {}).get("release")) or ""))
    if payload[:2] == b"\x1f\x8b":
        payload = gzip.decompress(payload)
    return json.loads(payload.decode("utf-8"))


def last_revision(secrets):
    """The release Secret of the highest revision (label version), or None."""
    def version(secret):
        try:
            return int(_labels(secret).get("version") or 0)
        except ValueError:
            return 0
    return max(secrets, key=version) if secrets else None


def chart_name_from_ref(chart_ref, local_chart=None):
    """The chart name a reference installs: a local chart's Chart.yaml name, else the last path segment."""
    if local_chart and local_chart.get("name"):
        return local_chart["name"]
    return chart_ref.rstrip("/").rsplit("/", 1)[-1].split(":", 1)[0] if chart_ref else None


def release_state(secrets, chart_name, chart_version, values_digest):
    """What the release records say about one release: state (missing, deployed or the last revision's status), revision,
    converged (deployed with this chart, version and values) and reasons when not."""
    last = last_revision(secrets)
    if last is None:
        return {"state": "missing", "revision": 0, "converged": False, "reasons": ["not installed"], "manifest": ""}
    labels = _labels(last)
    state = {"state": labels.get("status") or "unknown", "revision": int(labels.get("version") or 0), "converged": False,
             "reasons": [], "manifest": ""}
    if state["state"] != "deployed":
        state["reasons"].append("last revision %d is %s" % (state["revision"], state["state"]))
        return state
    record = decode_release(last)
    metadata = (record.get("chart") or {}).get("metadata") or {}
    state["chart"] = "%s-%s" % (metadata.get("name"), metadata.get("version"))
    if chart_name and metadata.get("name") != chart_name:
        state["reasons"].append("chart %s, not %s" % (metadata.get("name"), chart_name))
    if not chart_version:
        state["reasons"].append("no chart version to compare (Helm decides)")
    elif str(metadata.get("version")) != str(chart_version).lstrip("v") and str(metadata.get("version")) != str(chart_version):
        state["reasons"].append("chart version %s, not %s" % (metadata.get("version"), chart_version))
    if content_digest(record.get("config") or {}) != values_digest:
        state["reasons"].append("values differ")
    state["converged"] = not state["reasons"]
    state["manifest"] = record.get("manifest") or ""
    return state


def manifest_objects(manifest, kinds=WORKLOAD_KINDS):
    """(apiVersion, kind, name, namespace or None) of the objects of a rendered manifest whose kind is in kinds."""
    found = []
    if not manifest or yaml is None:
        return found
    for doc in yaml.load_all(manifest, Loader=YAML_LOADER):  # nosec B506: a safe loader
        if isinstance(doc, dict) and doc.get("kind") in kinds:
            meta = doc.get("metadata") or {}
            found.append((doc.get("apiVersion"), doc["kind"], meta.get("name"), meta.get("namespace")))
    return found
