# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health gate of a rolling operation (upgrade, CA rotation): after a batch of clusters changed, wait until the change is
in use on them, then until the mesh check passes over the whole mesh; else say, per cluster of the batch, why not.
PRIVATE to the collection.

``run_gate`` takes its reads as functions, so that the waiting and the verdict are tested without clusters.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import READ_ID, TITLES

IN_USE = "in use"
MESH_CHECK = "mesh check"


def _first_errors(findings, check, limit=2):
    messages = []
    for finding in findings:
        if finding.get("check") == check and finding.get("level") == "error":
            text = "%s: %s" % (finding.get("cluster") or "mesh", finding.get("message"))
            if text not in messages:
                messages.append(text)
    more = len(messages) - limit
    return "; ".join(messages[:limit]) + (" (and %d more)" % more if more > 0 else "")


def mesh_check_reason(findings, summary):
    """One line naming each failed check, the clusters where it failed and its first errors; '' when the mesh passed."""
    parts = []
    for check in summary.get("checks") or []:
        if check.get("status") != "error":
            continue
        clusters = sorted(c for c, level in (check.get("clusters") or {}).items() if level == "error")
        parts.append("%s on %s (%s)" % (check.get("id"), ", ".join(clusters), _first_errors(findings, check.get("id"))))
    if summary.get("unread_clusters") and not any(p.startswith(READ_ID) for p in parts):
        parts.append("%s: %s could not be read" % (TITLES.get(READ_ID, READ_ID), ", ".join(summary["unread_clusters"])))
    return "; ".join(parts)


def failures(batch, in_use, findings, summary):
    """{cluster of the batch: (stage, reason)} for those the gate fails: its change not in use, else the mesh check's issues."""
    out = {}
    mesh_reason = mesh_check_reason(findings or [], summary or {}) if summary is not None else ""
    for name in batch:
        problems = (in_use or {}).get(name)
        if problems:
            out[name] = (IN_USE, "; ".join(problems))
        elif summary is None:
            out[name] = (MESH_CHECK, "not run (the change was not in use on the whole batch)")
        elif not summary.get("passed"):
            out[name] = (MESH_CHECK, mesh_reason or "the mesh check did not pass")
    return out


def run_gate(batch, expect, read_in_use, check_mesh, retries, delay, check_retries, check_delay, sleep=time.sleep):
    """Wait (up to ``retries`` more reads, ``delay`` s apart) until ``read_in_use()`` reports no problem for the batch, then
    (up to ``check_retries`` more runs) until ``check_mesh()`` passes.

    read_in_use() -> {cluster: [problems]}; check_mesh() -> (findings, summary). Returns a dict with ``passed``,
    ``failures`` ({cluster: {stage, reason}}), ``in_use`` (the last problems), ``summary`` and ``findings`` of the last mesh
    check, and the attempts of each stage.
    """
    in_use = {}
    attempts = {"in_use": 0, "mesh_check": 0}
    if any(expect.get(name) for name in batch):
        for attempt in range(int(retries) + 1):
            attempts["in_use"] = attempt + 1
            in_use = read_in_use()
            if not any(in_use.get(name) for name in batch):
                break
            if attempt < int(retries):
                sleep(delay)
    findings, summary = None, None
    if not any(in_use.get(name) for name in batch):
        for attempt in range(int(check_retries) + 1):
            attempts["mesh_check"] = attempt + 1
            findings, summary = check_mesh()
            if summary.get("passed"):
                break
            if attempt < int(check_retries):
                sleep(check_delay)
    failed = failures(batch, in_use, findings, summary)
    return {"passed": not failed, "failures": dict((name, {"stage": stage, "reason": reason}) for name, (stage, reason) in failed.items()),
            "in_use": in_use, "summary": summary, "findings": findings, "attempts": attempts}
