# -*- coding: utf-8 -*-
"""check_failures scenario on emulated clusters: a healthy mesh passes; each fault fails exactly the right check with
the right message; the mesh passes again once the fault is cleared. The playbook runs read-only (0 client writes)."""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mesh_seed import MeshSeed, b64, cert_pem, key_pem  # noqa: E402  pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import take_snapshot  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import run_checks, summarize  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mesh(emulator_factory):
    handle = emulator_factory(["cluster1", "cluster2"])
    seed = MeshSeed(handle)
    seed.seed()
    return seed


def evaluate(seed):
    # the seeded istiod pods are not the simulated mesh's: nobody answers /debug/license on them (503), so license_check off
    snaps = [take_snapshot(seed.handle.client(c), cluster_name=c, context=c, expected_network=c, expected_trust_domain=c,
                           license_check=False) for c in seed.clusters]
    findings = run_checks(snaps, {"root_ca_pem": cert_pem(seed.pki["root"][0])})
    return snaps, findings, summarize(findings, [s["cluster"] for s in snaps])


def evaluate_until(seed, predicate, timeout=20):
    """Evaluate until predicate(summary, findings) holds (the simulated mesh reconciles asynchronously)."""
    deadline = time.time() + timeout
    while True:
        snaps, findings, summary = evaluate(seed)
        if predicate(summary, findings) or time.time() > deadline:
            return snaps, findings, summary
        time.sleep(0.5)


def errors(findings):
    return [(f["check"], f["cluster"], f["message"]) for f in findings if f["level"] == "error"]


def test_healthy_mesh_passes(mesh):
    snaps, findings, summary = evaluate_until(mesh, lambda s, f: s["passed"])
    assert summary["passed"], errors(findings)
    assert all(s["requests"] <= 15 for s in snaps)
    assert summary["warning_checks"] == [], [(f["check"], f["cluster"], f["message"]) for f in findings if f["level"] == "warning"]


FAULTS = ["foreign_root", "cacerts_without_key", "peer_address_of_no_cluster", "network_label_mismatch", "peer_disconnected",
          "peering_discovery_off", "select_workload_entries_false", "stale_workload_entry", "classless_cluster_spiffe_ids",
          "spire_bundle_not_configured", "istiod_not_ready"]


@pytest.mark.parametrize("name", FAULTS)
def test_fault_fails_exactly_the_right_check(mesh, name):
    fault = dict((f["name"], f) for f in mesh.faults())[name]
    check = fault["check"]

    def broken(summary, findings):
        return check in summary["failed_checks"] and any(fault["fragment"] in m for c, dummy, m in errors(findings) if c == check)
    fault["apply"]()
    try:
        dummy, findings, summary = evaluate_until(mesh, broken)
        assert broken(summary, findings), errors(findings)
        extra = set(summary["failed_checks"]) - {check}
        assert extra <= fault["also"], ("unexpected failing checks", extra, errors(findings))
    finally:
        fault["clear"]()
    dummy, findings, summary = evaluate_until(mesh, lambda s, f: s["passed"])
    assert summary["passed"], errors(findings)


def _playbook(mesh, tmp_path, *extra, hosts=None, **more_hosts):
    inv = tmp_path / "hosts.yml"
    hosts = dict((c, {"kube_context": c}) for c in mesh.clusters) if hosts is None else hosts
    hosts.update(more_hosts)
    inv.write_text(json.dumps({"k8s_clusters": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "kubeconfig_path": mesh.handle.kubeconfig}}}))
    root_pem = tmp_path / "root-ca-bundle.pem"
    root_pem.write_text(cert_pem(mesh.pki["root"][0]))
    scratch = tmp_path / "tmp"  # TMPDIR of the run
    scratch.mkdir(exist_ok=True)
    env = mesh.handle.env(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                          TMPDIR=str(scratch))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(ROOT, "playbooks", "mesh_check.yml"), "-i", str(inv),
           "-e", "mesh_check_reports_dir=%s" % (tmp_path / "reports"), "-e", "mesh_check_root_ca_bundle=%s" % root_pem,
           "-e", "mesh_check_license=false"] + list(extra)
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_playbook_read_only_report_and_failure(mesh, tmp_path):
    before = dict((c, mesh.handle.status(c)["writes"]) for c in mesh.clusters)
    result = _playbook(mesh, tmp_path, "-v")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    out = result.stdout
    assert "=== Cluster: cluster1 ===" in out and "--- Peers Check ---" in out
    assert "✅ Peers Check: all clusters connected" in out
    assert "multicluster check passed" in out
    reports = tmp_path / "reports"
    assert sorted(os.listdir(str(reports))) == ["mesh-check.html", "mesh-check.json", "mesh-check.junit.xml", "mesh-check.txt"]
    after = dict((c, mesh.handle.status(c)["writes"]) for c in mesh.clusters)
    assert after == before  # zero writes
    secrets = [line for line in open(str(reports / "mesh-check.json")).read().splitlines() if "PRIVATE KEY" in line]
    assert not secrets and "PRIVATE KEY" not in out
    # one fault through the playbook: the play fails, the report names the check
    fault = dict((f["name"], f) for f in mesh.faults())["peer_disconnected"]
    fault["apply"]()
    try:
        evaluate_until(mesh, lambda s, f: "peers" in s["failed_checks"])
        result = _playbook(mesh, tmp_path)
        assert result.returncode != 0
        assert "❌ Peers Check: peer cluster2 (network cluster2, gateway istio-eastwest/istio-remote-peer-cluster2) is not connected" in result.stdout
        assert "multicluster check found issues: peers" in result.stdout
    finally:
        fault["clear"]()
    evaluate_until(mesh, lambda s, f: s["passed"])


def test_playbook_unreadable_cluster_is_named(mesh, tmp_path):
    result = _playbook(mesh, tmp_path, cluster9={"kube_context": "no-such-context"})
    assert result.returncode != 0
    assert "cluster cluster9: could not load kubeconfig" in result.stdout
    assert "=== Cluster: cluster1 ===" in result.stdout  # the others are still checked
    assert '"snapshot"' not in result.stdout  # quiet: no raw snapshot in the output
    assert "Multicluster check incomplete: cluster9 could not be read, the mesh was not fully checked" in result.stdout
    assert "Multicluster check passed" not in result.stdout
    report = json.loads((tmp_path / "reports" / "mesh-check.json").read_text())
    assert report["summary"]["passed"] is False and report["summary"]["unread_clusters"] == ["cluster9"]
    recap = dict(re.findall(r"^(cluster\d+)\s+: ok=\d+\s+changed=\d+\s+unreachable=\d+\s+failed=(\d+)", result.stdout, re.M))
    assert recap == {"cluster1": "0", "cluster2": "0", "cluster9": "1"}, result.stdout[-3000:]  # the unread cluster fails alone


def test_playbook_faulty_cluster_fails_alone_with_the_api_reason(mesh, tmp_path):
    """Every request to cluster2 answers 503: cluster2 fails after its attempts with the API's Status message, cluster1 is checked."""
    mesh.handle.fault("cluster2", error_rate=1.0, error_code=503)
    try:
        result = _playbook(mesh, tmp_path, "-e", "mesh_check_api_retries=1", "-e", "mesh_check_api_retry_delay=0")
    finally:
        mesh.handle.clear_faults("cluster2")
    assert result.returncode != 0
    assert ("cluster cluster2: GET /api/v1/namespaces failed: 503 Service Unavailable: "
            "emulated fault: the server is currently unable to handle the request") in result.stdout, result.stdout[-3000:]
    assert "=== Cluster: cluster1 ===" in result.stdout
    # cluster2 was not checked: its section holds only the read error (before, it had no section), and the mesh did not pass
    section = result.stdout[result.stdout.index('"=== Cluster: cluster2 ==="'):]
    section = section[:section.index('"",')]
    assert re.findall(r'"(.*?)",?\n', section) == [
        "=== Cluster: cluster2 ===", "❌ Cluster Read Check: not checked: cluster cluster2: GET /api/v1/namespaces failed: 503 Service Unavailable: "
        "emulated fault: the server is currently unable to handle the request"], section
    assert "Multicluster check incomplete: cluster2 could not be read, the mesh was not fully checked" in result.stdout


def test_playbook_no_readable_cluster_fails_with_its_reason(mesh, tmp_path):
    """Nothing to evaluate: the host fails with the reason its cluster could not be read, and no report is printed."""
    result = _playbook(mesh, tmp_path, hosts={"cluster8": {"kube_context": "no-such-context"}})
    assert result.returncode != 0
    assert "cluster cluster8: could not load kubeconfig" in result.stdout
    assert "=== Cluster:" not in result.stdout and not (tmp_path / "reports").exists()


def test_playbook_check_mode_reads_only(mesh, tmp_path):
    """--check: the same verdict, no report file, no client write."""
    before = dict((c, mesh.handle.status(c)["writes"]) for c in mesh.clusters)
    result = _playbook(mesh, tmp_path, "--check", "-v")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "multicluster check passed" in result.stdout and "=== Cluster: cluster2 ===" in result.stdout
    assert not (tmp_path / "reports").exists()
    assert dict((c, mesh.handle.status(c)["writes"]) for c in mesh.clusters) == before
    assert _changed(result) == {"cluster1": 1, "cluster2": 0}  # the report files would be written


def _changed(result):
    return dict((h, int(n)) for h, n in re.findall(r"^(cluster\d+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M))


def test_playbook_rewrites_the_reports_only_when_they_change(mesh, tmp_path):
    """A second run on an unchanged mesh changes nothing (the report files are left as they are), in check mode too."""
    first = _playbook(mesh, tmp_path)
    assert first.returncode == 0 and _changed(first) == {"cluster1": 1, "cluster2": 0}, first.stdout[-3000:]
    reports = sorted((tmp_path / "reports").iterdir())
    for path in reports:
        os.utime(str(path), ns=(1, 1))
    for extra in ((), ("--check",)):
        again = _playbook(mesh, tmp_path, *extra)
        assert again.returncode == 0 and _changed(again) == {"cluster1": 0, "cluster2": 0}, again.stdout[-3000:]
        assert [os.stat(str(path)).st_mtime_ns for path in reports] == [1] * len(reports)


def test_snapshot_info_from_the_module(mesh, tmp_path):
    """mesh_snapshot_info against a real API: the snapshot in the result, no key material, and no file written anywhere."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = mesh.handle.env(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                          ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", TMPDIR=str(scratch))
    args = "kubeconfig=%s context=cluster2 cluster_name=cluster2 license_check=false" % mesh.handle.kubeconfig
    before = dict((c, mesh.handle.status(c)["writes"]) for c in mesh.clusters)
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m", "meshops.ambient_spire.mesh_snapshot_info",
                             "-a", args, "-e", "ansible_python_interpreter=%s" % sys.executable], env=env, cwd=str(tmp_path), capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    task = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    snap = task["snapshot"]
    assert task["changed"] is False and snap["cluster"] == "cluster2" and snap["requests"] <= 15
    assert snap["cacerts"]["key_matches"] is True and snap["cacerts"]["key_present"] is True
    text = json.dumps(task)
    for key in (mesh.pki["istio-cluster2"][1], mesh.pki["spire-cluster2"][1]):
        assert b64(key_pem(key)) not in text and key_pem(key).splitlines()[1] not in text
    assert "PRIVATE KEY" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]  # nothing written next to the run
    assert not [name for name in os.listdir(str(scratch)) if name.startswith("k8srcp-")]  # no discovery cache either
    assert dict((c, mesh.handle.status(c)["writes"]) for c in mesh.clusters) == before
