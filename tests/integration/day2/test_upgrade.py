"""playbooks/upgrade.yml on the converged mesh, chained: a healthy upgrade of three clusters (canary, then a batch of two; the
plan in --check first, a rerun changes nothing); a broken version stops after the canary, the two other clusters untouched
(no write) and healthy; a rerun with upgrade_rollback restores the canary from the versions recorded on it; a two-minor jump
is refused before any write."""

import json
import os

RECORD = "upgrade.meshops.io/record"
SMC = "servicemeshcontroller"
CLUSTERS = ("c1", "c2", "c3")


def _record(mesh, cluster):
    smc = mesh.kubectl_json(cluster, SMC, "managed-istio")
    return smc["spec"]["version"], json.loads(smc["metadata"]["annotations"][RECORD])


def _istio_pods(mesh, cluster):
    pods = mesh.kubectl_json(cluster, "pods", "-n", "istio-system", "-l", "app in (istiod,ztunnel)")["items"]
    return [(p["metadata"]["labels"]["app.kubernetes.io/version"],
             any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])) for p in pods]


def _versions(mesh, cluster):
    return mesh.handle.admin(cluster, "GET", "/_emulator/mesh/status")["versions"]


def test_a_healthy_upgrade_of_three_clusters(day2_mesh):
    mesh = day2_mesh
    target = {"mesh_istio_version": "1.26.2", "spire_chart_version": "0.24.3", "upgrade_batch": 2}
    before = mesh.writes()
    proc, _elapsed, recap = mesh.run("upgrade.yml", target, args=["--check"])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert mesh.writes() == before, "--check wrote to a cluster"
    for line in ('"batch 1 (canary): c1"', '"  c1: mesh_istio_version 1.25.5-patch1 -> 1.26.2; spire_chart_version 0.24.2 -> 0.24.3"',
                 '"batch 2: c2, c3"'):
        assert line in proc.stdout, proc.stdout[-4000:]
    assert all(recap[c]["changed"] == 1 for c in CLUSTERS), recap

    proc, elapsed, recap = mesh.run("upgrade.yml", target)
    print("\nfigures: upgrade of 3 clusters (canary c1, then c2+c3): %.0f s" % elapsed)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "upgraded and gated, in this order: c1, c2, c3" in proc.stdout
    records = {}
    for cluster in CLUSTERS:
        version, records[cluster] = _record(mesh, cluster)
        assert version == "1.26.2" and records[cluster]["phase"] == "done"
        assert records[cluster]["from"]["istio"] == "1.25.5-patch1" and records[cluster]["from"]["releases"]["spire-server/spire"]["version"] == "0.24.2"
        pods = _istio_pods(mesh, cluster)
        assert pods and all(p == ("1.26.2", True) for p in pods), (cluster, pods)
        versions = _versions(mesh, cluster)
        assert versions["helm"]["spire-server/spire"]["chart"] == "spire-0.24.3"
        assert versions["istio"] == {"istiod": "1.26.2", "ztunnel": "1.26.2", "istio-cni": "1.26.2"}
    # the canary was done before the batch started
    assert records["c1"]["batch"] == 1 and records["c2"]["batch"] == records["c3"]["batch"] == 2
    assert records["c1"]["updated"] <= min(records["c2"]["started"], records["c3"]["started"])

    # a rerun has nothing to do
    before = mesh.writes()
    proc, elapsed, recap = mesh.run("upgrade.yml", target)
    print("figures: upgrade rerun (nothing to upgrade): %.0f s" % elapsed)
    assert proc.returncode == 0 and "nothing to upgrade" in proc.stdout, proc.stdout[-4000:]
    assert all(recap[c]["changed"] == 0 for c in CLUSTERS), recap
    assert mesh.writes() == before


# Istio 1.27.1 crash-loops; the Gloo Operator chart 0.4.4 is fine (its Helm upgrade succeeds, the rollback must undo it too).
BROKEN = {"mesh_istio_version": "1.27.1", "spire_chart_version": "0.24.3", "gloo_operator_chart_version": "0.4.4", "upgrade_batch": 2}


def test_a_broken_version_stops_after_the_canary(day2_mesh):
    mesh = day2_mesh
    for cluster in CLUSTERS:
        mesh.fault(cluster, broken_version="1.27.1")
    before = mesh.writes()
    proc, elapsed, recap = mesh.run("upgrade.yml", dict(BROKEN, upgrade_gate_retries=8, upgrade_gate_delay=1))
    print("\nfigures: broken version stopped after the canary: %.0f s" % elapsed)
    assert proc.returncode != 0
    assert "Upgrade stopped at c1 (batch 1, canary), phase gate (in use): istiod: 0/" in proc.stdout, proc.stdout[-6000:]
    assert "emulated broken version 1.27.1" in proc.stdout and "Not upgraded, left as they were: c2, c3." in proc.stdout
    assert "Not rolled back" in proc.stdout
    # c2 and c3 took part in the read-only plan only
    assert recap["c1"]["failed"] == 1 and all(recap[c]["changed"] == 0 and recap[c]["failed"] == 0 for c in ("c2", "c3")), recap
    after = mesh.writes()
    assert after["c2"] == before["c2"] and after["c3"] == before["c3"] and after["c1"] > before["c1"]
    version, record = _record(mesh, "c1")
    assert version == "1.27.1" and record["phase"] == "failed" and record["from"]["istio"] == "1.26.2"
    assert record["from"]["releases"]["gloo-mesh/gloo-operator"] == {"version": "0.4.3", "revision": 1}
    assert record["reason"].startswith("gate (in use): istiod: 0/")
    assert _versions(mesh, "c1")["helm"]["gloo-mesh/gloo-operator"]["chart"] == "gloo-operator-0.4.4"
    for cluster in ("c2", "c3"):
        version, record = _record(mesh, cluster)
        assert version == "1.26.2" and record["phase"] == "done"
        assert all(p == ("1.26.2", True) for p in _istio_pods(mesh, cluster))
        assert _versions(mesh, cluster)["helm"]["gloo-mesh/gloo-operator"]["chart"] == "gloo-operator-0.4.3"
    # c2 and c3 pass the mesh check but for their link to the broken canary, and they are still linked to each other
    proc, _elapsed, _recap = mesh.run("mesh_check.yml", {"target_clusters": ["c2", "c3"], "mesh_check_fail": False})
    assert proc.returncode == 0, proc.stdout[-4000:]
    with open(os.path.join(mesh.reports, "mesh-check.json")) as handle:
        report = json.load(handle)
    errors = [f for f in report["findings"] if f["level"] == "error"]
    assert errors and all(f["check"] == "peers" and f["message"].startswith("peer c1 ") for f in errors), errors
    connected = [f["message"] for f in report["findings"] if f["check"] == "peers" and f["level"] == "info"]
    assert any(m.startswith("peer c3 ") for m in connected) and any(m.startswith("peer c2 ") for m in connected), connected


def test_rollback_restores_the_canary(day2_mesh):
    mesh = day2_mesh
    before = mesh.writes()
    # the rerun knows what c1 had from its record (it half runs 1.27.1 now), fails the gate again, and rolls c1 back
    proc, elapsed, recap = mesh.run("upgrade.yml", dict(BROKEN, upgrade_rollback=True, upgrade_gate_retries=10, upgrade_gate_delay=1))
    print("\nfigures: failed gate then rollback of the canary: %.0f s" % elapsed)
    assert proc.returncode != 0
    assert "(resumes the failed upgrade to Istio 1.27.1" in proc.stdout, proc.stdout[-6000:]
    assert '"  c1: mesh_istio_version 1.26.2 -> 1.27.1; gloo_operator_chart_version 0.4.3 -> 0.4.4' in proc.stdout
    assert "Upgrade stopped at c1 (batch 1, canary), phase gate (in use)" in proc.stdout
    assert "Rolled back to Istio 1.26.2, gloo-operator 0.4.3, spire 0.24.3, spire-crds 0.5.0." in proc.stdout, proc.stdout[-6000:]
    after = mesh.writes()
    assert after["c2"] == before["c2"] and after["c3"] == before["c3"]
    version, record = _record(mesh, "c1")
    assert version == "1.26.2" and record["phase"] == "rolled-back" and record["to"]["istio"] == "1.27.1"
    assert all(p == ("1.26.2", True) for p in _istio_pods(mesh, "c1"))
    # helm rollback to the recorded revision: the operator chart as it was, in a new revision
    operator = _versions(mesh, "c1")["helm"]["gloo-mesh/gloo-operator"]
    assert operator["chart"] == "gloo-operator-0.4.3" and operator["status"] == "deployed" and operator["revision"] == 3
    for cluster in CLUSTERS:
        mesh.clear(cluster)
    proc, _elapsed, _recap = mesh.run("mesh_check.yml")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_a_two_minor_jump_is_refused_before_any_write(day2_mesh):
    mesh = day2_mesh
    before = mesh.writes()
    proc, _elapsed, recap = mesh.run("upgrade.yml", {"mesh_istio_version": "1.28.0", "spire_chart_version": "0.24.3", "gloo_operator_chart_version": "0.4.3"})
    assert proc.returncode != 0
    assert "Upgrade refused (3 problems); nothing was changed:" in proc.stdout, proc.stdout[-4000:]
    for cluster in CLUSTERS:
        assert "%s: mesh_istio_version 1.26.2 -> 1.28.0 is a jump of 2 minor versions" % cluster in proc.stdout
    assert "Fix: go to 1.27.x first, then to 1.28.0" in proc.stdout
    assert mesh.writes() == before
