# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mesh_fixtures import errors, healthy, pod, warnings  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import control_plane as cp  # noqa: E402


def _env(snaps, cluster="cluster1"):
    return snaps[cluster]["istiod_deployments"][0]["env"]


def test_env_vars_pass():
    findings = cp.check_env_vars(healthy())
    assert not errors(findings) and not warnings(findings)
    msgs = [f["message"] for f in findings if f["cluster"] == "cluster1"]
    assert 'ENABLE_PEERING_DISCOVERY is valid ("true")' in msgs
    assert 'K8S_SELECT_WORKLOAD_ENTRIES is valid ("")' in msgs
    assert msgs[-1] == "all relevant environment variables are valid"


@pytest.mark.parametrize("value", [None, "false", "True", "1"])
def test_env_peering_discovery_must_be_exactly_true(value):
    snaps = healthy()
    if value is None:
        del _env(snaps)["ENABLE_PEERING_DISCOVERY"]
    else:
        _env(snaps)["ENABLE_PEERING_DISCOVERY"] = value
    errs = errors(cp.check_env_vars(snaps))
    assert [e["cluster"] for e in errs] == ["cluster1"]
    assert "ENABLE_PEERING_DISCOVERY is invalid" in errs[0]["message"]
    assert "must be enabled for multicluster service discovery" in errs[0]["message"]
    assert "helm get values" in errs[0]["hint"]


@pytest.mark.parametrize("value,bad", [("true", False), ("false", True), ("1", True), ("", True)])
def test_env_k8s_select_workload_entries(value, bad):
    snaps = healthy()
    _env(snaps)["K8S_SELECT_WORKLOAD_ENTRIES"] = value
    errs = errors(cp.check_env_vars(snaps))
    assert bool(errs) == bad
    if bad:
        assert "K8S_SELECT_WORKLOAD_ENTRIES is invalid" in errs[0]["message"]


@pytest.mark.parametrize("value", ["false", "False", "0", "f"])
def test_env_pilot_select_workload_entries_false(value):
    snaps = healthy()
    _env(snaps)["PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES"] = value
    errs = errors(cp.check_env_vars(snaps))
    assert len(errs) == 1
    assert "peering discovery is incompatible with PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES=false" in errs[0]["message"]


def test_env_pilot_select_workload_entries_garbage_and_unset():
    snaps = healthy()
    _env(snaps)["PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES"] = "yes"
    assert "not a boolean" in errors(cp.check_env_vars(snaps))[0]["message"]
    del _env(snaps)["PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES"]
    assert not errors(cp.check_env_vars(snaps))


def test_env_no_istiod_and_value_from():
    snaps = healthy()
    snaps["cluster2"]["istiod_deployments"] = []
    snaps["cluster1"]["istiod_deployments"][0]["env_from_refs"] = ["ENABLE_PEERING_DISCOVERY"]
    findings = cp.check_env_vars(snaps)
    assert "no istiod Deployment" in errors(findings, cluster="cluster2")[0]["message"]
    assert "valueFrom" in warnings(findings, cluster="cluster1")[0]["message"]


def test_env_several_istiods_are_named():
    snaps = healthy()
    dep = dict(snaps["cluster1"]["istiod_deployments"][0], name="istiod-canary", env={"ENABLE_PEERING_DISCOVERY": "false"})
    snaps["cluster1"]["istiod_deployments"].append(dep)
    errs = errors(cp.check_env_vars(snaps))
    assert errs[0]["message"].startswith("istio-system/istiod-canary: ENABLE_PEERING_DISCOVERY is invalid")


def test_license_pass_and_bypassed():
    snaps = healthy()
    snaps["cluster2"]["license"] = {"status": "ok", "state": "BYPASSED", "product": "GlooMesh"}
    findings = cp.check_license(snaps)
    assert [f["level"] for f in findings] == ["ok", "ok"]
    assert findings[0]["message"] == "license is valid for multicluster"


def test_license_not_supported_is_warning():
    snaps = healthy()
    snaps["cluster1"]["license"] = {"status": "not_supported", "status_code": 404}
    findings = cp.check_license(snaps)
    assert not errors(findings)
    assert "not supported on this Istio version" in warnings(findings)[0]["message"]


@pytest.mark.parametrize("lic,text", [
    ({"status": "ok", "state": "EXPIRED", "product": "GlooMesh"}, "not valid for multicluster"),
    ({"status": "ok", "state": "INVALID", "product": "GlooMesh"}, "not valid for multicluster"),
    ({"status": "ok", "state": "UNSET", "product": ""}, "not valid for multicluster"),
    ({"status": "ok", "state": "OK", "product": "GlooCore"}, "does not include the MultiCluster feature"),
    ({"status": "ok", "state": "OK", "product": "IstioSupportBasic"}, "does not include the MultiCluster feature"),
    ({"status": "error", "error": "HTTP 503"}, "could not read the license"),
    ({}, "could not read the license"),
])
def test_license_failures(lic, text):
    snaps = healthy()
    snaps["cluster2"]["license"] = lic
    errs = errors(cp.check_license(snaps))
    assert len(errs) == 1 and errs[0]["cluster"] == "cluster2" and text in errs[0]["message"]


def test_license_no_pod_is_warning():
    snaps = healthy()
    snaps["cluster1"]["license"] = {"status": "no_pod"}
    findings = cp.check_license(snaps)
    assert not errors(findings) and warnings(findings)


def test_pods_pass():
    snaps = healthy()
    for func in (cp.check_pods_istiod, cp.check_pods_ztunnel, cp.check_pods_eastwest):
        findings = func(snaps)
        assert [f["level"] for f in findings] == ["ok", "ok"]
        assert findings[0]["message"] == "all pods healthy"
        assert findings[0]["details"][0].startswith("NAME")


def test_pods_istiod_not_ready_fails_only_istiod():
    snaps = healthy()
    snaps["cluster1"]["pods"]["istiod"] = [pod("istiod-gloo-x", ready=False)]
    errs = errors(cp.check_pods_istiod(snaps))
    assert len(errs) == 1 and errs[0]["check"] == "pods_istiod"
    assert "1 of 1 pods unhealthy: istio-system/istiod-gloo-x" in errs[0]["message"]
    assert not errors(cp.check_pods_ztunnel(snaps)) and not errors(cp.check_pods_eastwest(snaps))


def test_pods_pending_and_missing():
    snaps = healthy()
    snaps["cluster1"]["pods"]["ztunnel"].append(pod("ztunnel-b", phase="Pending", ready=False))
    snaps["cluster2"]["pods"]["eastwest"] = []
    assert "1 of 2 pods unhealthy" in errors(cp.check_pods_ztunnel(snaps))[0]["message"]
    findings = cp.check_pods_eastwest(snaps)
    assert not errors(findings) and warnings(findings)[0]["message"] == "no pods found"


def test_license_skipped_is_info():
    snaps = healthy()
    snaps["cluster1"]["license"] = {"status": "skipped"}
    findings = cp.check_license(snaps)
    assert findings[0]["level"] == "info" and "skipped" in findings[0]["message"]
