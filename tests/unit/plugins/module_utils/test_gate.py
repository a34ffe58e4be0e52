# -*- coding: utf-8 -*-
"""The gate of a rolling operation (plugins/module_utils/_gate.py): it waits until the change is in use on the batch, then
until the mesh check passes; the verdict names, per cluster of the batch, the stage and the reason."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _gate as g

PASSED = {"passed": True, "checks": [], "unread_clusters": []}
FAILED = {"passed": False, "unread_clusters": [], "checks": [
    {"id": "pods_istiod", "status": "error", "clusters": {"c1": "error", "c2": "ok"}},
    {"id": "peers", "status": "error", "clusters": {"c1": "error", "c2": "error", "c3": "ok"}},
    {"id": "license", "status": "warning", "clusters": {"c1": "warning"}}]}
FINDINGS = [{"check": "pods_istiod", "cluster": "c1", "level": "error", "message": "1 of 1 pods unhealthy: istiod-x (CrashLoopBackOff)"},
            {"check": "peers", "cluster": "c1", "level": "error", "message": "peer c2 is not connected"},
            {"check": "peers", "cluster": "c2", "level": "error", "message": "peer c1 is not connected"},
            {"check": "peers", "cluster": "c2", "level": "error", "message": "peer c1 is not connected"},
            {"check": "license", "cluster": "c1", "level": "warning", "message": "below 1.27"}]


class Script(object):
    """Answers in turn; the last answer repeats."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


def test_waits_until_in_use_then_until_the_check_passes():
    sleeps = []
    in_use = Script([{"c1": ["istiod: 0/1 pods at 1.26.2 Ready"]}, {"c1": []}])
    check = Script([(FINDINGS, FAILED), ([], PASSED)])
    outcome = g.run_gate(["c1"], {"c1": {"istio": "1.26.2"}}, in_use, check, 5, 2, 3, 7, sleep=sleeps.append)
    assert outcome["passed"] and outcome["failures"] == {} and outcome["attempts"] == {"in_use": 2, "mesh_check": 2}
    assert sleeps == [2, 7]


def test_a_change_never_in_use_fails_its_cluster_and_skips_the_mesh_check():
    in_use = Script([{"c1": ["istiod: 0/1 pods at 1.27.1 Ready (istiod-x (CrashLoopBackOff: broken))"], "c2": []}])
    check = Script([([], PASSED)])
    outcome = g.run_gate(["c1", "c2"], {"c1": {"istio": "1.27.1"}, "c2": {"istio": "1.27.1"}}, in_use, check, 3, 1, 3, 1, sleep=lambda s: None)
    assert not outcome["passed"] and in_use.calls == 4 and check.calls == 0
    assert outcome["failures"] == {
        "c1": {"stage": "in use", "reason": "istiod: 0/1 pods at 1.27.1 Ready (istiod-x (CrashLoopBackOff: broken))"},
        "c2": {"stage": "mesh check", "reason": "not run (the change was not in use on the whole batch)"}}


def test_a_mesh_check_that_keeps_failing_names_checks_clusters_and_first_errors():
    check = Script([(FINDINGS, FAILED)])
    outcome = g.run_gate(["c1"], {}, Script([{}]), check, 3, 1, 2, 1, sleep=lambda s: None)
    assert check.calls == 3 and outcome["attempts"] == {"in_use": 0, "mesh_check": 3}
    assert outcome["failures"]["c1"] == {"stage": "mesh check", "reason": (
        "pods_istiod on c1 (c1: 1 of 1 pods unhealthy: istiod-x (CrashLoopBackOff)); "
        "peers on c1, c2 (c1: peer c2 is not connected; c2: peer c1 is not connected)")}


def test_an_unread_cluster_closes_the_gate():
    summary = {"passed": False, "unread_clusters": ["c3"], "checks": [{"id": "cluster_read", "status": "error", "clusters": {"c3": "error"}}]}
    findings = [{"check": "cluster_read", "cluster": "c3", "level": "error", "message": "not checked: 503"}]
    reason = g.failures(["c1"], {}, findings, summary)["c1"]
    assert reason == ("mesh check", "cluster_read on c3 (c3: not checked: 503)")
    assert g.mesh_check_reason([], {"passed": False, "unread_clusters": ["c3"], "checks": []}) == "Cluster Read Check: c3 could not be read"


def test_first_errors_are_limited():
    findings = [{"check": "peers", "cluster": "c%d" % i, "level": "error", "message": "m%d" % i} for i in range(5)]
    assert g._first_errors(findings, "peers") == "c0: m0; c1: m1 (and 3 more)"
