# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh watch's history: one JSON record per run, appended to a JSON Lines file, and what changed since the last one.
PRIVATE to the collection.

A record holds no secret: the mesh check's findings (check, cluster, level, messages) and the drifted objects' names and
field paths (``_drift``), never values.

Findings are compared per check and cluster at their worst level (warning or error): messages that name pods or counts
change from run to run, the check and the cluster of a problem do not.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.meshops.ambient_spire.plugins.module_utils._drift import object_key, object_label

RECORD_VERSION = 1
HISTORY_FILE = "mesh-watch-history.jsonl"
LEVELS = ("warning", "error")
_RANK = {"ok": 0, "info": 0, "warning": 1, "error": 2}


def issues(findings):
    """{"<check>|<cluster>": {check, cluster, level, messages}} of the warnings and errors, at the worst level per check and cluster."""
    out = {}
    for finding in findings or []:
        level = finding.get("level")
        if level not in LEVELS:
            continue
        cluster = finding.get("cluster") or "mesh"
        key = "%s|%s" % (finding.get("check"), cluster)
        entry = out.setdefault(key, {"check": finding.get("check"), "cluster": cluster, "level": level, "messages": []})
        if _RANK[level] > _RANK[entry["level"]]:
            entry["level"] = level
            entry["messages"] = []
        if level == entry["level"] and finding.get("message") not in entry["messages"]:
            entry["messages"].append(finding.get("message"))
    return out


def make_record(time, run_id, clusters, summary, findings, drift, errors=None):
    """The record of one run."""
    current = issues(findings)
    counts = (summary or {}).get("counts") or {}
    record = {
        "version": RECORD_VERSION,
        "time": time,
        "run": run_id,
        "clusters": list(clusters),
        "mesh": {"passed": bool((summary or {}).get("passed")), "errors": int(counts.get("error", 0)), "warnings": int(counts.get("warning", 0)),
                 "failed_checks": list((summary or {}).get("failed_checks") or []), "unread_clusters": list((summary or {}).get("unread_clusters") or [])},
        "issues": [current[key] for key in sorted(current)],
        "drift": sorted(drift or [], key=object_key),
        "errors": list(errors or []),
    }
    record["drifted"] = bool(record["drift"]) or bool(record["errors"])
    record["healthy"] = record["mesh"]["passed"]
    record["clean"] = record["healthy"] and not record["drifted"]
    return record


def compare(previous, current):
    """What changed since the previous record: new and resolved findings, newly drifted and no longer drifted objects.

    Without a previous record every current finding and drifted object is new.
    """
    before = dict(("%s|%s" % (i["check"], i["cluster"]), i) for i in (previous or {}).get("issues") or [])
    now = dict(("%s|%s" % (i["check"], i["cluster"]), i) for i in current.get("issues") or [])
    new_findings = []
    for key in sorted(now):
        old = before.get(key)
        if old is None or _RANK[now[key]["level"]] > _RANK.get(old.get("level"), 0):
            new_findings.append(now[key])
    resolved = [before[key] for key in sorted(before) if key not in now]
    drift_before = dict((object_key(o), o) for o in (previous or {}).get("drift") or [])
    drift_now = dict((object_key(o), o) for o in current.get("drift") or [])
    return {
        "previous": (previous or {}).get("time"),
        "new_findings": new_findings,
        "resolved_findings": resolved,
        "new_drift": [drift_now[k] for k in sorted(drift_now) if k not in drift_before or drift_now[k].get("fields") != drift_before[k].get("fields")],
        "resolved_drift": [drift_before[k] for k in sorted(drift_before) if k not in drift_now],
    }


def history_path(directory):
    return os.path.join(directory, HISTORY_FILE)


def read_history(directory, last=None):
    """The records of the history, oldest first (the last ``last`` ones); lines that do not parse (a torn write) are skipped."""
    path = history_path(directory)
    records = []
    try:
        with open(path, "r") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("version") == RECORD_VERSION:
                    records.append(record)
    except (IOError, OSError):
        return []
    return records[-last:] if last else records


def append_record(directory, record, keep=None):
    """Append one record (one line, written and flushed at once); keep the last ``keep`` records when given."""
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    path = history_path(directory)
    line = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    if _ends_torn(path):
        line = "\n" + line
    with open(path, "a") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    if keep:
        records = read_history(directory)
        if len(records) > keep:
            tmp = path + ".tmp"
            with open(tmp, "w") as handle:
                for item in records[-keep:]:
                    handle.write(json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
            os.rename(tmp, path)
    return path


def _ends_torn(path):
    """Whether the file ends without a newline (a write cut short): the next record must start on a line of its own."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return False
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) != b"\n"
    except (IOError, OSError):
        return False


def trend_point(record):
    """One point of the trend view: time, verdicts and counts of a record."""
    mesh = record.get("mesh") or {}
    return {"time": record.get("time"), "passed": bool(mesh.get("passed")), "errors": int(mesh.get("errors") or 0),
            "warnings": int(mesh.get("warnings") or 0), "drifted": len(record.get("drift") or []), "clean": bool(record.get("clean"))}


def _issue_label(issue):
    return "%s %s on %s: %s" % (issue["level"], issue["check"], issue["cluster"], "; ".join(str(m) for m in issue.get("messages") or [])[:300])


def summary_lines(record, changes):
    """What changed since the previous run, then the state of this run, as text lines."""
    lines = ["since %s:" % (changes.get("previous") or "the start of the history (no previous run)")]
    for title, items, label in (("new findings", changes["new_findings"], _issue_label), ("resolved findings", changes["resolved_findings"], _issue_label),
                                ("newly drifted", changes["new_drift"], object_label), ("no longer drifted", changes["resolved_drift"], object_label)):
        lines.append("  %s: %s" % (title, "none" if not items else len(items)))
        lines.extend("    %s" % label(item) for item in items)
    lines.append("now: %s" % verdict(record))
    lines.extend("  drifted: %s" % object_label(item) for item in record["drift"])
    lines.extend("  comparison failed on %s: %s" % (e.get("cluster"), e.get("reason")) for e in record["errors"])
    return lines


def verdict(record):
    """One line: clean, or what is wrong (drifted objects, mesh check errors, comparisons that failed)."""
    if record["clean"]:
        return "clean (the mesh check passed, nothing drifted from the desired state)"
    parts = []
    if record["drift"]:
        clusters = sorted(set(item.get("cluster") for item in record["drift"]))
        parts.append("%d drifted object%s on %s" % (len(record["drift"]), "" if len(record["drift"]) == 1 else "s", ", ".join(clusters)))
    if not record["mesh"]["passed"]:
        failed = record["mesh"]["failed_checks"] or ["not fully checked"]
        parts.append("the mesh check found issues (%s)" % ", ".join(failed))
    if record["errors"]:
        parts.append("the comparison failed on %s" % ", ".join(e.get("cluster") or "?" for e in record["errors"]))
    return "; ".join(parts)
