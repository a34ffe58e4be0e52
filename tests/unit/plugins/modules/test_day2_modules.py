# -*- coding: utf-8 -*-
"""The day-2 modules: mesh_watch_history (read, record, compare, append; nothing in check mode), mesh_versions_info (the result
of the reads, in use per cluster), helm_rollback (when a rollback is needed), and the trend in mesh_check's HTML report."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _report
from ansible_collections.meshops.ambient_spire.plugins.modules import helm_rollback, mesh_check, mesh_versions_info, mesh_watch_history

SUMMARY = {"passed": False, "counts": {"error": 1, "warning": 0}, "failed_checks": ["network"], "unread_clusters": []}
FINDING = {"check": "network", "cluster": "c2", "level": "error", "message": "network label broken-c2 differs"}
DRIFT = {"cluster": "c2", "kind": "Namespace", "namespace": "", "name": "istio-system", "action": "update", "fields": ["metadata.labels.x"]}


def run(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            module.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def test_history_records_compares_and_appends(tmp_path, capsys):
    directory = str(tmp_path / "watch")
    first_run = {"clusters": ["c1", "c2"], "summary": SUMMARY, "findings": [FINDING], "drift": [DRIFT], "id": "42"}
    code, first = run(mesh_watch_history, {"dir": directory, "run": first_run}, capsys)
    assert code == 0 and first["records"] == [] and first["changes"]["previous"] is None
    assert first["record"]["run"] == "42" and not first["record"]["clean"]
    assert first["verdict"] == "1 drifted object on c2; the mesh check found issues (network)"
    assert "    c2 Namespace istio-system (update): metadata.labels.x" in first["lines"]
    second_run = {"clusters": ["c1", "c2"], "summary": {"passed": True, "counts": {}}, "findings": [], "drift": []}
    code, second = run(mesh_watch_history, {"dir": directory, "run": second_run}, capsys)
    assert second["records"][0]["time"] == first["record"]["time"] and second["record"]["clean"]
    assert [i["check"] for i in second["changes"]["resolved_findings"]] == ["network"] and second["changes"]["resolved_drift"] == [DRIFT]
    with open(os.path.join(directory, "mesh-watch-history.jsonl")) as handle:
        assert len(handle.read().splitlines()) == 2
    code, read = run(mesh_watch_history, {"dir": directory, "last": 1}, capsys)
    assert [r["clean"] for r in read["records"]] == [True] and "record" not in read


def test_history_in_check_mode_and_without_a_directory(tmp_path, capsys):
    directory = str(tmp_path / "watch")
    code, result = run(mesh_watch_history, {"dir": directory, "run": {"summary": SUMMARY, "findings": [FINDING]}, "_ansible_check_mode": True},
                       capsys)
    assert code == 0 and result["changed"] and not os.path.exists(directory)
    code, result = run(mesh_watch_history, {"run": {"summary": SUMMARY}}, capsys)
    assert code == 0 and not result["changed"] and result["records"] == [] and "path" not in result


def test_history_refuses_a_file_as_directory(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x")
    code, result = run(mesh_watch_history, {"dir": str(path)}, capsys)
    assert code == 1 and "is not a directory" in result["msg"]


def test_versions_info_evaluate_in_use_and_unread_clusters():
    params = {"clusters": [{"name": "c1", "expect": {"istio": "1.26.2"}}, {"name": "c2", "expect": {"istio": "1.26.2"}}, {"name": "c3"}]}
    component = {"present": True, "versions": ["1.26.2"], "pods": {"1.26.2": {"pods": 1, "ready": 1, "not_ready": []}}, "rollout_complete": True}
    read = {"smc": {"name": "managed-istio", "present": True, "version": "1.26.2"}, "istio": dict((n, component) for n in ("istiod", "ztunnel", "istio-cni")),
            "helm": {}, "roots": {"cacerts": 2}}
    result = mesh_versions_info.evaluate(params, {"c1": {"result": read, "attempts": 1}, "c2": {"error": "503", "attempts": 3},
                                                  "c3": {"result": read, "attempts": 1}})
    c1, c2, c3 = result["clusters"]
    assert c1["in_use"] == {"ok": True, "problems": []} and c1["several_roots"]
    assert c2 == {"name": "c2", "attempts": 3, "failed": True, "msg": "503"} and "in_use" not in c3
    assert result["in_use_ok"] is False
    params["clusters"][1].pop("expect")
    assert mesh_versions_info.evaluate(params, {"c1": {"result": read, "attempts": 1}, "c2": {"error": "503", "attempts": 1},
                                                "c3": {"result": read, "attempts": 1}})["in_use_ok"] is True


def test_helm_rollback_needed():
    history = [{"revision": 1, "chart": "spire-0.24.2", "app_version": "1.11.2", "status": "superseded"},
               {"revision": 2, "chart": "spire-0.24.3", "app_version": "1.11.3", "status": "deployed"}]
    needed, last, target = helm_rollback.rollback_needed(history, 1)
    assert needed and last["revision"] == 2 and target["chart"] == "spire-0.24.2"
    # helm rollback 1 made revision 3 with revision 1's chart: nothing more to do
    history.append({"revision": 3, "chart": "spire-0.24.2", "app_version": "1.11.2", "status": "deployed"})
    assert helm_rollback.rollback_needed(history, 1)[0] is False
    # a failed last revision is rolled back even with the same chart
    history.append({"revision": 4, "chart": "spire-0.24.2", "app_version": "1.11.2", "status": "failed"})
    assert helm_rollback.rollback_needed(history, 1)[0] is True
    assert helm_rollback.rollback_needed(history, 9)[0] is None


def test_html_report_trend_of_the_runs():
    records = [{"time": "T1", "mesh": {"passed": True, "errors": 0, "warnings": 2}, "drift": [], "clean": True},
               {"time": "T2", "mesh": {"passed": False, "errors": 3, "warnings": 2}, "drift": [DRIFT], "clean": False}]
    points = mesh_check.trend_points(records, {"passed": True, "counts": {"error": 0, "warning": 2}}, [])
    assert points[-1] == {"time": "this run", "passed": True, "errors": 0, "warnings": 2, "drifted": 0, "clean": True}
    html = _report.to_html([], {"clusters": [], "checks": [], "counts": {}}, {}, trend=points, drift=[DRIFT])
    assert "Trend of the last 3 runs" in html and html.count('r="4" fill') == 3
    assert html.count('<td class="ok">clean</td>') == 2 and '<td class="error">drift</td>' in html
    assert "Drifted objects" in html and "metadata.labels.x" in html
    assert "Trend of the last" not in _report.to_html([], {"clusters": [], "checks": [], "counts": {}}, {})
