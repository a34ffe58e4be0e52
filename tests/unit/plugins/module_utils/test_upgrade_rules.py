# -*- coding: utf-8 -*-
"""The version rules and the plan of a rolling upgrade (plugins/module_utils/_upgrade_rules.py): each refusal with its reason,
what passes, the batches, the resumption of an unfinished upgrade from its record."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _upgrade_rules as r

SPIRE = "spire-server/spire"
CRDS = "spire-server/spire-crds"
GLOO = "gloo-mesh/gloo-operator"


def read(istio="1.25.5-patch1", ztunnel=None, cni=None, spire="0.24.2", record=None, roots=1, peers=2, spire_app="1.11.2", multiroot=False):
    """A mesh_versions_info cluster entry."""
    def component(version):
        return {"present": True, "versions": [version], "pods": {version: {"pods": 1, "ready": 1, "not_ready": []}}, "rollout_complete": True}
    return {
        "name": "c", "cluster": "c",
        "smc": {"name": "managed-istio", "present": True, "version": istio, "record": record},
        "istio": {"istiod": component(istio), "ztunnel": component(ztunnel or istio), "istio-cni": component(cni or istio)},
        "helm": {CRDS: {"present": True, "version": "0.5.0", "deployed_version": "0.5.0", "revision": 1, "deployed_revision": 1, "status": "deployed"},
                 SPIRE: {"present": True, "version": spire, "deployed_version": spire, "revision": 3, "deployed_revision": 3, "status": "deployed",
                         "app_version": spire_app},
                 GLOO: {"present": True, "version": "0.4.3", "deployed_version": "0.4.3", "revision": 1, "deployed_revision": 1, "status": "deployed"}},
        "roots": {"cacerts": roots, "istio_ca_root_cert": roots, "spire_bundle": roots}, "multiroot_env": multiroot, "peers": peers,
    }


def desired(istio="1.26.2", spire="0.24.2", crds="0.5.0", gloo="0.4.3"):
    return {"istio": {"variable": "mesh_istio_version", "version": istio},
            "releases": [{"key": CRDS, "variable": "spire_crds_chart_version", "version": crds, "role": "spire", "spire": False},
                         {"key": SPIRE, "variable": "spire_chart_version", "version": spire, "role": "spire", "spire": True},
                         {"key": GLOO, "variable": "gloo_operator_chart_version", "version": gloo, "role": "gloo_operator", "spire": False}]}


def one(problems):
    assert len(problems) == 1, problems
    return problems[0]


# --- one minor at a time ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("current,target", [("1.25.5-patch1", "1.26.2"), ("1.25.5", "1.25.7"), ("1.26.2", "1.25.5"), ("1.26.1-solo", "1.27.0")])
def test_one_minor_or_a_patch_is_allowed(current, target):
    assert r.jump_problem("c1", "mesh_istio_version", current, target) is None


def test_a_two_minor_jump_is_refused_with_the_next_step():
    text = r.jump_problem("c1", "mesh_istio_version", "1.25.5-patch1", "1.27.1")
    assert text.startswith("c1: mesh_istio_version 1.25.5-patch1 -> 1.27.1 is a jump of 2 minor versions")
    assert r.IN_PLACE_UPGRADE_URL in text and text.endswith("Fix: go to 1.26.x first, then to 1.27.1")


def test_a_two_minor_downgrade_and_a_major_change_are_refused():
    assert "Fix: go to 1.26.x first" in r.jump_problem("c1", "mesh_istio_version", "1.27.0", "1.25.5")
    assert "a change of major version" in r.jump_problem("c1", "mesh_istio_version", "1.27.0", "2.0.0")


def test_versions_that_do_not_parse_are_refused():
    assert "cannot be compared" in r.jump_problem("c1", "mesh_istio_version", "latest", "1.26.0")


# --- ztunnel / istio-cni against istiod ---------------------------------------------------------------------------

def test_data_plane_one_minor_behind_is_fine_now_and_after():
    assert r.skew_problems("c1", "v", ["1.26.2"], {"ztunnel": ["1.25.5"], "istio-cni": ["1.26.2"]}, "1.26.3") == []
    # while istiod moves to 1.26, ztunnel stays at 1.25 for a moment: within the policy
    assert r.skew_problems("c1", "v", ["1.25.5"], {"ztunnel": ["1.25.5"]}, "1.26.0") == []


def test_ztunnel_two_minors_behind_after_the_upgrade_is_refused():
    text = one(r.skew_problems("c1", "v", ["1.26.2"], {"ztunnel": ["1.25.5"]}, "1.27.0"))
    assert "would leave ztunnel 1.25.5 more than one minor version behind istiod 1.27.0" in text and r.AMBIENT_SKEW_URL in text


def test_ztunnel_ahead_of_istiod_is_refused_now_and_after_a_downgrade():
    now = r.skew_problems("c1", "v", ["1.25.5"], {"ztunnel": ["1.26.0"]}, "1.25.6")
    assert any("cannot go on while ztunnel 1.26.0 runs with istiod 1.25.5" in p for p in now), now
    after = r.skew_problems("c1", "v", ["1.26.2"], {"istio-cni": ["1.26.2"]}, "1.25.9")
    assert "would put istiod below istio-cni 1.26.2" in one(after)


# --- minimums of the features in use -----------------------------------------------------------------------------

def test_multicluster_needs_1_24_3():
    assert "below 1.24.3, the minimum for a multicluster mesh" in one(r.minimum_problems("c1", "v", "1.24.2", True, False))
    assert r.minimum_problems("c1", "v", "1.24.2", False, False) == []
    assert r.minimum_problems("c1", "v", "1.24.3", True, False) == []


@pytest.mark.parametrize("target,floor", [("1.24.5", "1.24.6"), ("1.25.2", "1.25.3"), ("1.23.9", "1.24.6")])
def test_several_roots_need_the_multi_root_ztunnel(target, floor):
    text = one(r.minimum_problems("c1", "v", target, False, True))
    assert "below %s" % floor in text and "several roots are in use" in text and r.ZTUNNEL_MULTI_ROOT_URL in text


@pytest.mark.parametrize("target", ["1.24.6", "1.25.3", "1.26.0", "1.27.1", "1.30.0"])
def test_multi_root_versions_pass(target):
    assert r.minimum_problems("c1", "v", target, True, True) == []


def test_spire_with_several_roots():
    assert r.chart_problems("c1", "spire_chart_version", SPIRE, "0.24.2", "0.24.3", True, True, "1.11.2") == []
    down = one(r.chart_problems("c1", "spire_chart_version", SPIRE, "0.24.2", "0.23.0", True, True, "1.11.2"))
    assert "downgrades the SPIRE chart while several roots are in use" in down
    old = one(r.chart_problems("c1", "spire_chart_version", SPIRE, "0.21.0", "0.21.1", True, True, "1.10.3"))
    assert "SPIRE 1.10.3 runs" in old
    # one root: no SPIRE rule; an unparseable chart version is refused anyway
    assert r.chart_problems("c1", "spire_chart_version", SPIRE, "0.24.2", "0.23.0", False, True, "1.10.3") == []
    assert "is not a chart version" in one(r.chart_problems("c1", "spire_chart_version", SPIRE, "0.24.2", "latest", False, True))


# --- the plan ----------------------------------------------------------------------------------------------------

def test_plan_of_three_clusters_canary_then_batches():
    reads = dict((h, dict(read(), name=h, cluster=h)) for h in ("c1", "c2", "c3"))
    want = dict((h, desired(spire="0.24.3")) for h in reads)
    plan = r.plan_mesh(reads, want, ["c1", "c2", "c3"], batch=2)
    assert plan["refusals"] == [] and plan["batches"] == [["c1"], ["c2", "c3"]] and plan["order"] == ["c1", "c2", "c3"]
    c1 = plan["clusters"][0]
    assert c1["canary"] and c1["batch"] == 1 and c1["roles"] == ["gloo_operator", "spire"]
    assert [(c["variable"], c["from"], c["to"]) for c in c1["changes"]] == [
        ("mesh_istio_version", "1.25.5-patch1", "1.26.2"), ("spire_chart_version", "0.24.2", "0.24.3")]
    assert c1["from"]["releases"][SPIRE] == {"version": "0.24.2", "revision": 3}
    assert plan["expect_to"]["c2"] == {"istio": "1.26.2", "releases": {CRDS: "0.5.0", SPIRE: "0.24.3", GLOO: "0.4.3"}}
    assert plan["expect_from"]["c2"]["istio"] == "1.25.5-patch1" and plan["expect_from"]["c2"]["releases"][SPIRE] == "0.24.2"
    lines = r.plan_lines(plan)
    assert lines[0] == "batch 1 (canary): c1"
    assert lines[1] == "  c1: mesh_istio_version 1.25.5-patch1 -> 1.26.2; spire_chart_version 0.24.2 -> 0.24.3"
    assert lines[2] == "batch 2: c2, c3"


def test_plan_canary_named_and_clusters_up_to_date():
    reads = {"c1": dict(read(istio="1.26.2"), name="c1"), "c2": read(), "c3": read()}
    plan = r.plan_mesh(reads, dict((h, desired()) for h in reads), ["c1", "c2", "c3"], canary="c3", batch=1)
    assert plan["batches"] == [["c3"], ["c2"]] and plan["changing"] == ["c2", "c3"]
    assert "up to date: c1" in r.plan_lines(plan)
    # the named canary is up to date: the first cluster that changes goes alone first
    plan = r.plan_mesh(reads, dict((h, desired()) for h in reads), ["c1", "c2", "c3"], canary="c1", batch=5)
    assert plan["batches"] == [["c2"], ["c3"]]
    assert r.plan_lines(plan)[0] == "canary c1 is up to date: c2 goes alone first"
    nothing = r.plan_mesh({"c1": read(istio="1.26.2")}, {"c1": desired()}, ["c1"])
    assert nothing["order"] == [] and r.plan_lines(nothing) == ["up to date: c1", "nothing to upgrade"]


def test_plan_refuses_a_two_minor_jump_and_bad_inputs():
    reads = {"c1": read(), "c2": read()}
    plan = r.plan_mesh(reads, dict((h, desired(istio="1.27.1")) for h in reads), ["c1", "c2"], canary="c9", batch=0)
    assert len(plan["refusals"]) == 4, plan["refusals"]
    assert plan["refusals"][0].startswith("all: upgrade_canary 'c9' is not one of the clusters of this run")
    assert plan["refusals"][1].startswith("all: upgrade_batch 0 is not a positive number")
    assert all("is a jump of 2 minor versions" in p for p in plan["refusals"][2:])


def test_plan_refuses_a_cluster_not_installed_or_not_read():
    reads = {"c1": dict(read(), smc={"name": "managed-istio", "present": False}), "c2": {"failed": True, "msg": "503"}}
    plan = r.plan_mesh(reads, dict((h, desired()) for h in reads), ["c1", "c2"])
    assert "ServiceMeshController managed-istio not found" in plan["refusals"][0]
    assert plan["refusals"][1] == "c2: kube_context could not be read: 503. Fix: fix the connection, then run again"


def test_plan_needs_the_multi_root_minimum_when_any_cluster_has_several_roots():
    reads = {"c1": read(), "c2": read(roots=2)}
    plan = r.plan_mesh(reads, dict((h, desired(istio="1.26.0")) for h in reads), ["c1", "c2"])
    assert plan["multi_root"] and plan["refusals"] == []
    reads = {"c1": read(istio="1.24.4"), "c2": read(istio="1.24.4", multiroot=True)}
    plan = r.plan_mesh(reads, dict((h, desired(istio="1.24.5")) for h in reads), ["c1", "c2"])
    assert len(plan["refusals"]) == 2 and all("below 1.24.6" in p for p in plan["refusals"])


def test_plan_resumes_an_unfinished_upgrade_from_its_record():
    record = {"phase": "failed", "from": {"istio": "1.26.2", "releases": {SPIRE: {"version": "0.24.2", "revision": 3}}},
              "to": {"istio": "1.27.1", "releases": {}}, "started": "2026-11-30T10:00:00Z", "reason": "gate: istiod crash-loops"}
    # the canary half-runs 1.27.1: its plan starts from the recorded 1.26.2, not from what it runs
    reads = {"c1": read(istio="1.27.1", record=record), "c2": read(istio="1.26.2")}
    plan = r.plan_mesh(reads, dict((h, desired(istio="1.27.1")) for h in reads), ["c1", "c2"])
    c1 = plan["clusters"][0]
    assert c1["resumed"] and plan["resumed"] == ["c1"] and plan["refusals"] == []
    assert c1["changes"][0]["from"] == "1.26.2" and c1["from"]["releases"][SPIRE]["revision"] == 3
    assert "(resumes the failed upgrade to Istio 1.27.1 recorded on the cluster)" in r.plan_lines(plan)[1]
    # a finished record does not count: the cluster starts from what it runs
    done = dict(record, phase="done")
    plan = r.plan_mesh({"c1": read(istio="1.27.1", record=done)}, {"c1": desired(istio="1.27.1")}, ["c1"])
    assert not plan["clusters"][0]["resumed"] and plan["order"] == []


def test_record_keeps_the_start_of_the_same_upgrade():
    reads = {"c1": read()}
    plan = r.plan_mesh(reads, {"c1": desired()}, ["c1"])
    entry = plan["clusters"][0]
    first = r.record("upgrading", entry, "T1")
    assert first == {"phase": "upgrading", "from": entry["from"], "to": entry["to"], "batch": 1, "started": "T1", "updated": "T1"}
    failed = r.record("failed", entry, "T2", previous=first, reason="gate: x")
    assert failed["started"] == "T1" and failed["updated"] == "T2" and failed["reason"] == "gate: x"
    other = r.record("upgrading", entry, "T3", previous=dict(first, to={"istio": "9.9.9"}))
    assert other["started"] == "T3"
    # this run's start when the cluster had no unfinished record of this upgrade
    assert r.record("done", entry, "T5", previous=dict(first, phase="done"), started="T4")["started"] == "T4"
