"""playbooks/rotate_ca.yml on one mesh of three emulated clusters converged by site.yml (pki_store files), with the
cross-cluster probe running the whole time. The rotations chain on the same mesh: new intermediates, then a new root,
then a root rotation stopped by a failed gate and killed twice before it finishes, then the negative control with the gates
off. Every rotation asserts the probe: not one failed cross-cluster request, except in the negative control, which shows
that the probe (and the mesh check) do see a rotation done in the wrong order."""

import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rotation_env import Mesh, wait_for  # noqa: E402  pylint: disable=wrong-import-position

CLUSTERS = ["c1", "c2", "c3"]
ROOT_VARS = {"rotate_ca_scope": "root", "rotate_ca_confirm_root": True}


@pytest.fixture(scope="module")
def mesh(emulator_factory):
    """Three clusters converged and linked by site.yml (pki_store files)."""
    handle = emulator_factory(CLUSTERS)
    env = Mesh(handle)
    env.converge()
    return env


def _no_failed_request(mesh, rounds=10):
    mesh.wait_probe_rounds(rounds)
    probe = mesh.probe()
    assert probe["failed"] == 0, json.dumps(probe["pairs"], indent=1)
    assert len(probe["pairs"]) == 6 and all(p["ok"] >= rounds for p in probe["pairs"].values()), probe["pairs"]


def _recap_changed(recap):
    return dict((host, r["changed"]) for host, r in recap.items() if host in CLUSTERS)


def _istiod_multiroot(mesh, cluster):
    """Whether every istiod pod of the cluster runs with ISTIO_MULTIROOT_MESH=true."""
    pods = mesh.kubectl_json(cluster, "pods", "-n", "istio-system", "-l", "app=istiod")["items"]
    return bool(pods) and all(any(e.get("name") == "ISTIO_MULTIROOT_MESH" and e.get("value") == "true"
                                  for c in p["spec"]["containers"] for e in c.get("env") or []) for p in pods)


def _drop_multiroot(mesh, cluster):
    """ISTIO_MULTIROOT_MESH taken out of the istiod values of gloo-extensions-config, as an install by other means would leave it."""
    config = mesh.kubectl_json(cluster, "configmap", "-n", "gloo-mesh", "gloo-extensions-config")
    values = config["data"]["values.istiod"].replace('ISTIO_MULTIROOT_MESH: "true"', "").replace("ISTIO_MULTIROOT_MESH: 'true'", "")
    assert "ISTIO_MULTIROOT_MESH" not in values, values
    patch = json.dumps({"data": {"values.istiod": values}})
    mesh.handle.kubectl("patch", "configmap", "-n", "gloo-mesh", "gloo-extensions-config", "--type", "merge", "-p", patch, context=cluster)
    wait_for(lambda: not _istiod_multiroot(mesh, cluster), what="istiod of %s without ISTIO_MULTIROOT_MESH" % cluster)


def test_intermediate_rotation(mesh):
    """New intermediates from the same root (every cluster in one batch here; the root rotations below go cluster by cluster):
    0 failed requests, every chain new, the root unchanged; the same id again changes nothing; nothing due within 30 days
    changes nothing either. c1's istiod lacks ISTIO_MULTIROOT_MESH at first: --check says the precheck sets it and writes
    nothing, the rotation sets it before anything else."""
    _drop_multiroot(mesh, "c1")
    writes = mesh.writes()
    proc, recap = mesh.rotate({"rotate_ca_id": "int-1", "rotate_ca_batch": 3}, args=["--check"])
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert re.search(r"TASK \[meshops\.ambient_spire\.rotate_ca : Set ISTIO_MULTIROOT_MESH=true[^\n]*\nchanged: \[c1\]", proc.stdout), proc.stdout[-6000:]
    assert mesh.writes() == writes and not _istiod_multiroot(mesh, "c1")
    root = mesh.tree_fingerprint("root/root-ca.crt")
    before = dict((c, (mesh.istiod(c), mesh.chains(c))) for c in CLUSTERS)
    mesh.reset_probe()
    proc, recap = mesh.rotate({"rotate_ca_id": "int-1", "rotate_ca_batch": 3})
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "PRIVATE KEY" not in proc.stdout + proc.stderr
    assert all(_istiod_multiroot(mesh, c) for c in CLUSTERS)
    _no_failed_request(mesh)
    for cluster in CLUSTERS:
        roots, issuing = mesh.istiod(cluster)
        assert roots == before[cluster][0][0] == [root]
        assert issuing[0] != before[cluster][0][1][0] and issuing[-1] == root
        # ztunnel and the east-west gateway: SPIRE's X.509 CA and the SPIRE intermediate above it are new, the root is the same
        chains = mesh.chains(cluster)
        assert len(chains) == 3 and set(chains).isdisjoint(before[cluster][1]), chains
        old_cas = set(c[0] for c in before[cluster][1].values()) | set(c[1] for c in before[cluster][1].values())
        for chain in chains.values():
            # the X.509 CA SPIRE minted and activated, and the upstream intermediate above it
            assert len(chain) == 2 and chain[0] not in old_cas and chain[1] not in old_cas, chain
        assert mesh.configmap_roots(cluster) and set(map(tuple, mesh.configmap_roots(cluster).values())) == {(root,)}
        state = mesh.state(cluster)
        assert state["id"] == "int-1" and state["finished"] and state["phases"] == {"issue": "done"}
        # the files store took the new intermediates
        assert mesh.tree_fingerprint("clusters/%s/istio/ca-cert.pem" % cluster) == issuing[0] == state["after"]["istio"]
        assert {chain[1] for chain in chains.values()} == {mesh.tree_fingerprint("clusters/%s/spire/ca.crt" % cluster)} == {state["after"]["spire"]}
        assert mesh.tree_chain_root("clusters/%s/spire/ca-chain.pem" % cluster) == root
    assert mesh.tree_fingerprint("root/root-ca.crt") == root
    # finished: the same id changes nothing, writes nothing
    writes = mesh.writes()
    proc, recap = mesh.rotate({"rotate_ca_id": "int-1"})
    assert proc.returncode == 0 and set(_recap_changed(recap).values()) == {0}, proc.stdout[-4000:]
    assert "rotation int-1 (intermediates) finished on c1, c2, c3: nothing to do" in proc.stdout
    assert mesh.writes() == writes
    # a scheduled job: nothing expires within 30 days
    proc, recap = mesh.rotate({"rotate_ca_id": "sched-1", "rotate_ca_expiring_within_days": 30})
    assert proc.returncode == 0 and set(_recap_changed(recap).values()) == {0}, proc.stdout[-4000:]
    assert "no intermediate expires within 30 day(s) on c1, c2, c3: nothing to rotate" in proc.stdout
    assert mesh.writes() == writes and all(mesh.state(c)["id"] == "int-1" for c in CLUSTERS)


def test_root_rotation(mesh):
    """A new root in three phases: refused without the confirmation; --check --diff prints the plan with fingerprints and
    writes nothing (no key material); then 0 failed requests, and at the end the new root alone in every istiod trust store and
    every istio-ca-root-cert ConfigMap, SPIRE still trusting the old root (fact 12, reported by the mesh check), the old root
    and its key archived in the PKI store."""
    old = mesh.tree_fingerprint("root/root-ca.crt")
    writes = mesh.writes()
    proc, _recap = mesh.rotate({"rotate_ca_id": "root-1", "rotate_ca_scope": "root"})
    assert proc.returncode != 0 and "set rotate_ca_confirm_root=true to confirm" in proc.stdout
    proc, _recap = mesh.rotate(dict(ROOT_VARS, rotate_ca_id="root-1"), args=["--check", "--diff"])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "PRIVATE KEY" not in proc.stdout + proc.stderr
    assert "rotation root-1 (root): starts, 3 cluster(s), root 'SPIRE Root CA' (SHA256 %s) -> a new root" % old[:16] in proc.stdout
    for phase in ("phase 1/3 (trust", "phase 2/3 (issue", "phase 3/3 (drop"):
        assert phase in proc.stdout
    assert re.search(r"c2: cacerts root-cert\.pem \[%s\] -> \[%s, new root\]" % (old[:16], old[:16]), proc.stdout), proc.stdout[-3000:]
    assert mesh.writes() == writes and not os.path.exists(os.path.join(mesh.pki_dir, "rotations", "root-1"))

    mesh.reset_probe()
    # every cluster in one batch (rotate_ca_batch): once every trust store holds the new root, the clusters may issue from it together
    proc, _recap = mesh.rotate(dict(ROOT_VARS, rotate_ca_id="root-1", rotate_ca_batch=3))
    assert proc.returncode == 0, proc.stdout[-6000:]
    _no_failed_request(mesh)
    new = mesh.tree_fingerprint("root/root-ca.crt")
    assert new != old and mesh.tree_fingerprint("rotations/root-1/root/root-ca.crt") == new
    assert mesh.tree_fingerprint("archive/root-1/root-ca.crt") == old
    assert oct(os.stat(os.path.join(mesh.pki_dir, "archive", "root-1", "root-ca.key")).st_mode & 0o777) == "0o600"
    assert mesh.tree_fingerprint("root-ca-bundle.pem") == new
    for cluster in CLUSTERS:
        roots, issuing = mesh.istiod(cluster)
        assert roots == [new] and issuing[-1] == new
        assert set(map(tuple, mesh.configmap_roots(cluster).values())) == {(new,)}
        assert {chain[1] for chain in mesh.chains(cluster).values()} == {mesh.state(cluster)["after"]["spire"]}
        assert mesh.tree_chain_root("clusters/%s/spire/ca-chain.pem" % cluster) == new
        assert mesh.spire_bundle(cluster)[-2:] == [old, new]          # fact 12: SPIRE keeps the old root until it expires
        assert mesh.state(cluster)["phases"] == {"trust": "done", "issue": "done", "drop": "done"}
    assert re.search(r"SPIRE on c1, c2, c3 still trusts root 'SPIRE Root CA' \(SHA256 %s\)" % old[:16], proc.stdout)


def test_interrupted_root_rotation_resumes(mesh):
    """A root rotation stopped by a failed gate (the kubelet slower than the gate), then killed during phase 1 and again after
    the first cluster of phase 2, finishes with the same command: 0 failed requests, exactly two roots in it (the one it started
    from and the one it made), the old one archived."""
    old = mesh.tree_fingerprint("root/root-ca.crt")
    roots_before = set(mesh.tree_roots().values())
    mesh.reset_probe()
    # 1. a gate fails: the kubelet shows the changed Secrets after 10 minutes, the gates give up after 3 attempts
    mesh.handle.admin("c1", "POST", "/_emulator/mesh/settings", {"kubelet_sync": 600})
    untouched = dict((c, mesh.secret(c, "istio-system", "cacerts")) for c in ("c2", "c3"))
    try:
        proc, _recap = mesh.rotate(dict(ROOT_VARS, rotate_ca_id="root-2", rotate_ca_gate_retries=3))
    finally:
        mesh.handle.admin("c1", "POST", "/_emulator/mesh/settings", {"kubelet_sync": None})
    assert proc.returncode != 0
    assert re.search(r"CA rotation root-2 stopped on cluster c1 in phase 1/3 \(trust\) at 'Make SPIRE mint until its bundle has the new root "
                     r"[^\n]*': not met after 3 attempts\. The clusters not yet in this phase are as they were", proc.stdout), proc.stdout[-4000:]
    for cluster in ("c2", "c3"):
        assert mesh.secret(cluster, "istio-system", "cacerts") == untouched[cluster]
        assert mesh.state(cluster)["phases"]["trust"] == "pending"
    # 2. killed during phase 1: one cluster done, the next one on its way
    mesh.rotate_until(dict(ROOT_VARS, rotate_ca_id="root-2"), lambda: len(mesh.phase_done("root-2", "trust")) == 2)
    # 3. killed after the first cluster of phase 2
    mesh.rotate_until(dict(ROOT_VARS, rotate_ca_id="root-2"), lambda: len(mesh.phase_done("root-2", "issue")) == 1)
    done = mesh.phase_done("root-2", "issue")
    assert len(done) == 1 and len(mesh.phase_done("root-2", "trust")) == 3
    # 4. the same command finishes it
    proc, _recap = mesh.rotate(dict(ROOT_VARS, rotate_ca_id="root-2"))
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "rotation root-2 (root): resumed" in proc.stdout
    _no_failed_request(mesh)
    new = mesh.tree_fingerprint("root/root-ca.crt")
    assert new != old and mesh.tree_fingerprint("archive/root-2/root-ca.crt") == old
    # exactly two roots in this rotation: no third one was made by the runs that were cut off
    made = set(mesh.tree_roots().values()) - roots_before
    assert made == {new}, mesh.tree_roots()
    for cluster in CLUSTERS:
        assert mesh.istiod(cluster)[0] == [new]
        assert set(map(tuple, mesh.configmap_roots(cluster).values())) == {(new,)}
        assert set(mesh.spire_bundle(cluster)) - roots_before == {new}


def test_negative_control_without_gates(mesh):
    """The same root rotation with the gates off (test-only rotate_ca_test_no_gates): the first cluster issues from the new
    root before the others trust it. The probe sees failed requests between that cluster and the others, and the mesh check
    reports the pair and the direction."""
    mesh.reset_probe()
    mesh.rotate_until(dict(ROOT_VARS, rotate_ca_id="neg-1", rotate_ca_test_no_gates=True),
                      lambda: len(mesh.phase_done("neg-1", "issue")) == 1)
    first = mesh.phase_done("neg-1", "issue")[0]
    wait_for(lambda: any(p["failed"] > 0 for p in mesh.probe()["pairs"].values()), what="failed probe requests")
    mesh.wait_probe_rounds(10)
    pairs = mesh.probe()["pairs"]
    failing = sorted(name for name, pair in pairs.items() if pair["failed"] > 0)
    assert failing and all(first in name.split("->") for name in failing), pairs
    proc, _recap = mesh.run("mesh_check.yml", {"mesh_check_fail": False, "mesh_check_verbose": True})
    assert proc.returncode == 0, proc.stdout[-4000:]
    other = next(c for c in CLUSTERS if c != first)
    # the first chain of the failing direction that does not verify: istiod's CA or SPIRE's (both now issue from the new root)
    assert re.search(r"cluster %s has incompatible intermediate certificates with cluster %s: %s -> %s: the (istiod|SPIRE) chain of %s \('(Istio|SPIRE) %s CA' "
                     r"\(SHA256 \w+\)\) does not verify against the SPIRE bundle of %s, which trusts \[[^]]+\]: %s rejects %s"
                     % (first, other, first, other, first, first, other, other, first), proc.stdout), proc.stdout[-6000:]
