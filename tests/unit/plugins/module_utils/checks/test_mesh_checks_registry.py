# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mesh_fixtures import healthy  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import registry  # noqa: E402


def test_checks_are_ordered_and_unique():
    assert registry.CHECK_IDS[0] == "env_vars" and len(set(registry.CHECK_IDS)) == len(registry.CHECK_IDS) == 15


def test_index_snapshots():
    snaps = healthy()
    assert list(registry.index_snapshots(list(snaps.values()))) == ["cluster1", "cluster2"]
    assert registry.index_snapshots(snaps) == snaps
    with pytest.raises(ValueError):
        registry.index_snapshots([snaps["cluster1"], snaps["cluster1"]])
    with pytest.raises(ValueError):
        registry.index_snapshots([{"x": 1}])


def test_run_checks_only_and_skip():
    findings = registry.run_checks(healthy(), only=["naming", "license"])
    assert {f["check"] for f in findings} == {"naming", "license"}
    findings = registry.run_checks(healthy(), skip=list(registry.CHECK_IDS[1:]))
    assert {f["check"] for f in findings} == {"env_vars"}


def test_internal_error_becomes_finding(monkeypatch):
    def boom(snapshots, options):
        raise RuntimeError("kaput")
    checks = tuple((cid, title, boom if cid == "naming" else func) for cid, title, func in registry.CHECKS)
    monkeypatch.setattr(registry, "CHECKS", checks)
    findings = registry.run_checks(healthy(), only=["naming"])
    assert findings[0]["level"] == "error" and "kaput" in findings[0]["message"]


def test_summary_of_healthy_and_broken():
    snaps = healthy()
    findings = registry.run_checks(snaps, only=["env_vars", "stale_workloads", "naming"])
    summary = registry.summarize(findings, snaps)
    assert summary["passed"] and summary["warning_checks"] == ["stale_workloads"]
    snaps["cluster2"]["istiod_deployments"][0]["env"]["ENABLE_PEERING_DISCOVERY"] = "false"
    findings = registry.run_checks(snaps, only=["env_vars", "naming"])
    summary = registry.summarize(findings, snaps)
    assert not summary["passed"] and summary["failed_checks"] == ["env_vars"]
    env = summary["checks"][0]
    assert env["clusters"] == {"cluster1": "ok", "cluster2": "error"}
