# -*- coding: utf-8 -*-
"""The preflight module over fake clusters: options reach the checks, the license never leaves, reports are written only when
they change, an unread cluster fails alone, failures name the cluster and the fix, and the RBAC rules are returned."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils", "preflight"))

from preflight_fixtures import jwt, pem, pki, snaps  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import snapshot as reader  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.modules import preflight  # noqa: E402

LICENSE = jwt({"exp": 4102444800})


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            preflight.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def fake_clusters(monkeypatch, fixtures, down=()):
    """take_snapshot returns the fixture of the context's cluster; contexts in `down` are not reachable."""
    seen = {}

    def fake_client(params):
        return params["context"]

    def fake_snapshot(api_client, cluster, **kwargs):
        seen[cluster] = kwargs
        if api_client in down:
            raise reader.SnapshotError("cluster %s is not reachable (GET /version failed: Connection refused). Check ..." % cluster)
        return json.loads(json.dumps(fixtures[api_client]))
    monkeypatch.setattr(reader, "take_snapshot", fake_snapshot)
    monkeypatch.setattr("ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_rest.connect", fake_client)
    return seen


def args(fixtures, **extra):
    base = {"clusters": [{"name": name, "context": name, "cluster_name": name, "expected_trust_domain": name} for name in fixtures],
            "istio_version": "1.27.3-patch0", "license_key": LICENSE, "pki_root_ca_cert": pem(pki()["root"][0])}
    base.update(extra)
    return base


def test_fresh_clusters_pass_and_the_options_reach_the_reader(monkeypatch, capsys, tmp_path):
    fixtures = snaps()
    seen = fake_clusters(monkeypatch, fixtures)
    rc, out = run(args(fixtures, namespaces={"spire": "spire"}, spire_release_name="sp", reports_dir=str(tmp_path)), capsys)
    assert rc == 0 and out["summary"]["passed"], out
    assert seen["cluster1"]["namespaces"] == {"spire": "spire", "gloo": "gloo-mesh", "istio": "istio-system", "eastwest": "istio-eastwest"}
    assert seen["cluster1"]["spire_server_claim"] == "spire-data-sp-server-0" and seen["cluster1"]["check_access"] is True
    assert out["failures"] == [] and out["changed"] is True
    assert sorted(os.listdir(str(tmp_path))) == ["preflight.json", "preflight.junit.xml", "preflight.txt"]
    rc, again = run(args(fixtures, namespaces={"spire": "spire"}, spire_release_name="sp", reports_dir=str(tmp_path)), capsys)
    assert again["changed"] is False
    rules = out["rbac_rules"]
    assert {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["create", "delete", "get", "patch"]} in rules["cluster_role"]
    assert set(rules["roles"]) == {"spire", "gloo-mesh", "istio-system", "istio-eastwest"}


def test_skipping_rbac_makes_no_access_review(monkeypatch, capsys):
    fixtures = snaps()
    seen = fake_clusters(monkeypatch, fixtures)
    rc, out = run(args(fixtures, skip_checks=["rbac"]), capsys)
    assert rc == 0 and seen["cluster2"]["check_access"] is False
    assert "rbac" not in [c["id"] for c in out["summary"]["checks"]]


def test_failures_name_the_cluster_and_the_fix_and_the_key_never_leaves(monkeypatch, capsys, tmp_path):
    fixtures = snaps()
    fixtures["cluster2"]["storage_classes"] = []
    fake_clusters(monkeypatch, fixtures, down=("cluster1",))
    soon = jwt({"exp": 1})
    rc, out = run(args(fixtures, license_key=soon, reports_dir=str(tmp_path)), capsys)
    assert rc == 1 and out["msg"] == "preflight found issues: reachable, storage, license"
    by = dict(((f["cluster"], f["check"]), f["text"]) for f in out["failures"])
    assert set(by) == {("cluster1", "reachable"), ("cluster2", "storage"), (None, "license")}
    assert by[("cluster1", "reachable")].startswith("Reachability Check: cluster cluster1 is not reachable")
    storage = by[("cluster2", "storage")]
    assert storage.startswith("Storage Check (spire-server datastore): no default StorageClass") and ". Fix: " in storage
    assert [e["name"] for e in out["clusters"] if e.get("failed")] == ["cluster1"]
    text = json.dumps(out) + "".join(open(os.path.join(str(tmp_path), name)).read() for name in os.listdir(str(tmp_path)))
    assert soon not in text and soon.split(".")[1] not in text


def test_unknown_check_ids_are_refused(monkeypatch, capsys):
    fake_clusters(monkeypatch, snaps())
    rc, out = run(args(snaps(), checks=["nope"]), capsys)
    assert rc == 1 and out["msg"].startswith("unknown check ids nope; valid: reachable, rbac,")


def test_check_mode_writes_no_report(monkeypatch, capsys, tmp_path):
    fixtures = snaps()
    fake_clusters(monkeypatch, fixtures)
    rc, out = run(dict(args(fixtures, reports_dir=str(tmp_path / "r")), _ansible_check_mode=True), capsys)
    assert rc == 0 and out["changed"] is True and not os.path.exists(str(tmp_path / "r")) and "report_files" not in out
