# -*- coding: utf-8 -*-
"""The mesh watch's history (plugins/module_utils/_watch_history.py): records, what changed since the previous one, the JSON
Lines file (torn lines skipped, retention) and the trend points."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _watch_history as wh

SUMMARY_OK = {"passed": True, "counts": {"ok": 20, "info": 3, "warning": 1, "error": 0}, "failed_checks": [], "unread_clusters": []}
SUMMARY_BAD = {"passed": False, "counts": {"ok": 18, "info": 3, "warning": 1, "error": 2}, "failed_checks": ["network"], "unread_clusters": []}
LICENSE_WARNING = {"check": "license", "cluster": "c1", "level": "warning", "message": "not supported below 1.27"}
NETWORK_ERROR = {"check": "network", "cluster": "c1", "level": "error", "message": "network label broken-c1 differs"}
DRIFT = {"cluster": "c1", "kind": "Namespace", "namespace": "", "name": "istio-system", "action": "update",
         "fields": ['metadata.labels["topology.istio.io/network"]']}


def test_issues_keep_the_worst_level_per_check_and_cluster():
    found = wh.issues([{"check": "pods_istiod", "cluster": "c1", "level": "warning", "message": "w"},
                       {"check": "pods_istiod", "cluster": "c1", "level": "error", "message": "e1"},
                       {"check": "pods_istiod", "cluster": "c1", "level": "error", "message": "e2"},
                       {"check": "network", "cluster": None, "level": "error", "message": "m"},
                       {"check": "peers", "cluster": "c2", "level": "ok", "message": "fine"}])
    assert found == {"pods_istiod|c1": {"check": "pods_istiod", "cluster": "c1", "level": "error", "messages": ["e1", "e2"]},
                     "network|mesh": {"check": "network", "cluster": "mesh", "level": "error", "messages": ["m"]}}


def test_clean_then_a_fault_then_resolved():
    clean = wh.make_record("T1", "1", ["c1", "c2"], SUMMARY_OK, [LICENSE_WARNING], [])
    assert clean["clean"] and not clean["drifted"] and clean["healthy"] and clean["mesh"]["warnings"] == 1
    first = wh.compare(None, clean)
    assert first["previous"] is None
    assert first["new_findings"] == [{"check": "license", "cluster": "c1", "level": "warning", "messages": ["not supported below 1.27"]}]

    fault = wh.make_record("T2", "2", ["c1", "c2"], SUMMARY_BAD, [LICENSE_WARNING, NETWORK_ERROR], [DRIFT])
    assert not fault["clean"] and fault["drifted"] and not fault["healthy"]
    changes = wh.compare(clean, fault)
    assert changes["previous"] == "T1"
    assert [(f["check"], f["cluster"], f["level"]) for f in changes["new_findings"]] == [("network", "c1", "error")]
    assert changes["new_drift"] == [DRIFT] and changes["resolved_findings"] == [] and changes["resolved_drift"] == []

    cleared = wh.make_record("T3", "3", ["c1", "c2"], SUMMARY_OK, [LICENSE_WARNING], [])
    changes = wh.compare(fault, cleared)
    assert changes["new_findings"] == [] and [(f["check"], f["cluster"]) for f in changes["resolved_findings"]] == [("network", "c1")]
    assert changes["resolved_drift"] == [DRIFT] and changes["new_drift"] == []


def test_a_worse_level_is_new_and_changed_fields_are_new_drift():
    warn = wh.make_record("T1", None, ["c1"], SUMMARY_OK, [dict(NETWORK_ERROR, level="warning")], [DRIFT])
    err = wh.make_record("T2", None, ["c1"], SUMMARY_BAD, [NETWORK_ERROR], [dict(DRIFT, fields=["spec.version"])])
    changes = wh.compare(warn, err)
    assert [f["level"] for f in changes["new_findings"]] == ["error"] and changes["new_drift"][0]["fields"] == ["spec.version"]
    # better is not new (and not resolved either: the problem is still there)
    back = wh.compare(err, warn)
    assert back["new_findings"] == [] and back["resolved_findings"] == []


def test_errors_of_the_comparison_count_as_drift():
    record = wh.make_record("T1", None, ["c1"], SUMMARY_OK, [], [], errors=[{"cluster": "c1", "reason": "503"}])
    assert record["drifted"] and not record["clean"]


def test_history_file_appends_skips_torn_lines_and_keeps_the_last(tmp_path):
    directory = str(tmp_path / "watch")
    assert wh.read_history(directory) == []
    for i in range(5):
        wh.append_record(directory, wh.make_record("T%d" % i, str(i), ["c1"], SUMMARY_OK, [], []), keep=3)
    path = wh.history_path(directory)
    with open(path) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 3 and [json.loads(line)["time"] for line in lines] == ["T2", "T3", "T4"]
    with open(path, "a") as handle:
        handle.write('{"version": 1, "time": "torn')
    assert [r["time"] for r in wh.read_history(directory)] == ["T2", "T3", "T4"]
    assert [r["time"] for r in wh.read_history(directory, last=2)] == ["T3", "T4"]
    wh.append_record(directory, wh.make_record("T5", "5", ["c1"], SUMMARY_OK, [], []))
    assert wh.read_history(directory)[-1]["time"] == "T5"
    assert oct(os.stat(directory).st_mode & 0o777) == "0o755"


def test_trend_point():
    record = wh.make_record("T2", "2", ["c1"], SUMMARY_BAD, [NETWORK_ERROR], [DRIFT])
    assert wh.trend_point(record) == {"time": "T2", "passed": False, "errors": 2, "warnings": 1, "drifted": 1, "clean": False}
