"""The roles on their own: each names the cluster it acts on (issue 11.1), the readiness waits run on every run (issue 16.3),
the playbooks that install Istio refuse a missing mesh_istio_version (issue 16.4), and ENABLE_PEERING_DISCOVERY comes from the
gloo_operator role, not from the emulated operator (issue 16.5).

One emulator for the module: cluster1 and cluster2 are the inventory's clusters; "decoy" is the current-context of the
kubeconfig, which a role that ignored its host's cluster would write to. The tests run in order on one converged state."""

import json
import os
import re
import sys
import time

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from install_helpers import counters, run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position

CLUSTERS = ("cluster1", "cluster2")
DECOY = "decoy"

# The four roles in a play of the user's own: no module_defaults, nothing but the inventory and the PKI.
BARE_PLAY = """---
- name: Issue the PKI
  hosts: k8s_clusters
  gather_facts: false
  tasks:
    - name: PKI
      ansible.builtin.import_role:
        name: meshops.ambient_spire.pki
      run_once: true
      delegate_to: localhost

- name: The roles, imported in a play without module_defaults
  hosts: k8s_clusters
  gather_facts: false
  tasks:
    - name: SPIRE
      ansible.builtin.import_role:
        name: meshops.ambient_spire.spire
    - name: SPIFFE IDs
      ansible.builtin.import_role:
        name: meshops.ambient_spire.spiffe_ids
    - name: Gloo Operator
      ansible.builtin.import_role:
        name: meshops.ambient_spire.gloo_operator
    - name: East-west gateway
      ansible.builtin.import_role:
        name: meshops.ambient_spire.eastwest
    - name: Link
      ansible.builtin.import_role:
        name: meshops.ambient_spire.eastwest
        tasks_from: link
"""

ONE_ROLE_PLAY = """---
- name: One role, imported in a play without module_defaults
  hosts: k8s_clusters
  gather_facts: false
  tasks:
    - name: The role
      ansible.builtin.import_role:
        name: meshops.ambient_spire.{role}
"""


@pytest.fixture(scope="module")
def env(emulator_factory, tmp_path_factory):
    """The emulator (the kubeconfig's current-context is the decoy), the inventory of cluster1 and cluster2, the playbooks."""
    handle = emulator_factory([DECOY] + list(CLUSTERS))
    with open(handle.kubeconfig) as fh:
        kubeconfig = yaml.safe_load(fh)
    assert kubeconfig["current-context"] == DECOY
    work = tmp_path_factory.mktemp("roles")
    playbooks = {}
    for name, text in [("bare", BARE_PLAY)] + [(role, ONE_ROLE_PLAY.format(role=role)) for role in ("gloo_operator", "eastwest")]:
        playbooks[name] = str(work / ("%s.yml" % name))
        with open(playbooks[name], "w") as fh:
            fh.write(text)
    inventory = write_inventory(handle)
    with open(inventory) as fh:
        data = json.load(fh)
    for host in list(data["all"]["children"]["k8s_clusters"]["hosts"]):
        if host not in CLUSTERS:
            del data["all"]["children"]["k8s_clusters"]["hosts"][host]
    with open(inventory, "w") as fh:
        json.dump(data, fh)
    return {"handle": handle, "inventory": inventory, "playbooks": playbooks, "kubeconfig": kubeconfig, "work": work}


def _writes(handle):
    return {cluster: values[1] for cluster, values in counters(handle).items()}


def _get(handle, cluster, *args):
    return json.loads(handle.kubectl("get", *args, "-o", "json", context=cluster).stdout)


def _peer_connected(handle, cluster, peer):
    gateway = _get(handle, cluster, "gateways.gateway.networking.k8s.io", "-n", "istio-eastwest", "istio-remote-peer-" + peer)
    return {c["type"]: c["status"] for c in gateway.get("status", {}).get("conditions", [])}.get("gloo.solo.io/PeerConnected")


def _istiod_ready(handle, cluster):
    pods = _get(handle, cluster, "pods", "-n", "istio-system", "-l", "app=istiod")["items"]
    return any(c["type"] == "Ready" and c["status"] == "True" for pod in pods for c in pod.get("status", {}).get("conditions", []))


def _istiod_env(handle, cluster):
    deployment = _get(handle, cluster, "deployment", "-n", "istio-system", "istiod-gloo")
    container = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "discovery"][0]
    return {e["name"]: e.get("value") for e in container.get("env", [])}


@pytest.fixture(scope="module")
def converged(env):
    """The bare play run three times (their outcomes are checked by the test below): on cluster1 alone through inline
    kubeconfigs, on both clusters through the defaults, again on both through host + api_key + ca_cert."""
    handle, inventory, bare, work = env["handle"], env["inventory"], env["playbooks"]["bare"], env["work"]
    roles = ("spire", "spiffe_ids", "gloo_operator", "eastwest")
    runs = {}

    def run(label, args):
        before = _writes(handle)
        proc, _elapsed, recap = run_playbook(handle, bare, args=args, inventory=inventory)
        runs[label] = (proc, recap, before, _writes(handle))
        with open(str(work / ("%s.log" % label)), "w") as fh:  # the -vvv output is long: the whole of it for a failure
            fh.write(proc.stdout + proc.stderr)

    # 1. cluster1 alone, each connection an inline kubeconfig (every cluster's token, current-context the decoy), at -vvv.
    inline = str(work / "inline.json")
    with open(inline, "w") as fh:
        json.dump({"%s_connection" % role: {"kubeconfig": env["kubeconfig"], "context": "{{ kube_context }}"} for role in roles}, fh)
    run("inline", ["--limit", "cluster1", "-vvv", "-e", "@" + inline])
    # 2. Both clusters, the default connections (kubeconfig_path, kube_context).
    run("default", [])
    # 3. Both again, each connection the API server, a bearer token and the CA, at -vvv.
    tokens = {user["name"]: user["user"]["token"] for user in env["kubeconfig"]["users"]}
    api_key = str(work / "api_key.json")
    connection = {"host": "{{ test_servers[inventory_hostname] }}", "api_key": "{{ test_tokens[inventory_hostname] }}", "ca_cert": handle.state["ca"]}
    extra_vars = {"%s_connection" % role: connection for role in roles}
    extra_vars.update(test_servers={c: handle.state["clusters"][c]["server"] for c in CLUSTERS}, test_tokens=tokens)
    with open(api_key, "w") as fh:
        json.dump(extra_vars, fh)
    run("api_key", ["-vvv", "-e", "@" + api_key])
    return dict(runs, tokens=sorted(tokens.values()))


def _failures(proc):
    """The failed task results of a run, or the end of its output."""
    return "\n".join(re.findall(r"^(?:fatal|failed): .*$", proc.stdout, re.M))[:6000] or (proc.stdout[-5000:] + proc.stderr[-2000:])


def test_each_role_acts_on_its_hosts_cluster_without_module_defaults(env, converged):
    handle = env["handle"]
    # 1. cluster1 alone through inline kubeconfigs: cluster1 is written, nothing else; no token is printed at -vvv.
    proc, _recap, before, after = converged["inline"]
    assert proc.returncode == 0, _failures(proc)
    assert after["cluster1"] > before["cluster1"]
    assert after["cluster2"] == before["cluster2"] and after[DECOY] == before[DECOY], (before, after)
    assert len(converged["tokens"]) == 3 and not [t for t in converged["tokens"] if t in proc.stdout + proc.stderr], "a token at -vvv"
    # 2. Both clusters through the defaults: cluster2 installed, both linked, each with its own identity; decoy untouched.
    proc, _recap, before, after = converged["default"]
    assert proc.returncode == 0, _failures(proc)
    assert after[DECOY] == before[DECOY]
    for cluster, peer in (CLUSTERS, CLUSTERS[::-1]):
        assert _get(handle, cluster, "servicemeshcontroller", "managed-istio")["spec"]["cluster"] == cluster
        assert _peer_connected(handle, cluster, peer) == "True"
    # 3. Through host + api_key + ca_cert: converged, nothing changes; no token is printed at -vvv; decoy untouched.
    proc, recap, before, after = converged["api_key"]
    assert proc.returncode == 0, _failures(proc)
    assert all(recap[c]["changed"] == 0 and recap[c]["failed"] == 0 for c in CLUSTERS), recap
    assert not [t for t in converged["tokens"] if t in proc.stdout + proc.stderr], "a token at -vvv"
    assert after[DECOY] == before[DECOY]


def test_enable_peering_discovery_comes_from_the_role(env, converged):  # pylint: disable=unused-argument
    """The emulated operator no longer sets it (test above: the peers connected, so istiod had it from the role's values);
    without the values it is gone, with the operator_enables_peering_discovery setting it is back."""
    handle = env["handle"]
    config = _get(handle, "cluster1", "configmap", "-n", "gloo-mesh", "gloo-extensions-config")
    # ISTIO_MULTIROOT_MESH: the role's default for CA rotations (several roots in istiod's trust store)
    assert yaml.safe_load(config["data"]["values.istiod"])["pilot"]["env"] == {"ENABLE_PEERING_DISCOVERY": "true", "ISTIO_MULTIROOT_MESH": "true"}
    assert _istiod_env(handle, "cluster1")["ENABLE_PEERING_DISCOVERY"] == "true"
    assert _istiod_env(handle, "cluster1")["ISTIO_MULTIROOT_MESH"] == "true"
    original = config["data"]["values.istiod"]
    values = yaml.safe_load(original)
    del values["pilot"]
    try:
        handle.kubectl("patch", "configmap", "-n", "gloo-mesh", "gloo-extensions-config", "--type", "merge", "-p",
                       json.dumps({"data": {"values.istiod": yaml.safe_dump(values)}}), context="cluster1")
        _wait(lambda: "ENABLE_PEERING_DISCOVERY" not in _istiod_env(handle, "cluster1"), "istiod without ENABLE_PEERING_DISCOVERY")
        assert handle.admin("cluster1", "POST", "/_emulator/mesh/settings", {"operator_enables_peering_discovery": True})[
            "operator_enables_peering_discovery"] is True
        _wait(lambda: _istiod_env(handle, "cluster1").get("ENABLE_PEERING_DISCOVERY") == "true", "the setting's ENABLE_PEERING_DISCOVERY")
        # clearing the faults keeps the settings
        handle.admin("cluster1", "DELETE", "/_emulator/mesh/faults")
        assert handle.admin("cluster1", "GET", "/_emulator/mesh/settings")["operator_enables_peering_discovery"] is True
        assert "operator_enables_peering_discovery" not in handle.admin("cluster2", "GET", "/_emulator/mesh/settings")
    finally:
        handle.admin("cluster1", "POST", "/_emulator/mesh/settings", {"operator_enables_peering_discovery": None})
        handle.kubectl("patch", "configmap", "-n", "gloo-mesh", "gloo-extensions-config", "--type", "merge", "-p",
                       json.dumps({"data": {"values.istiod": original}}), context="cluster1")
    _wait(lambda: _istiod_env(handle, "cluster1").get("ENABLE_PEERING_DISCOVERY") == "true", "ENABLE_PEERING_DISCOVERY from the values again")
    _wait(lambda: _peer_connected(handle, "cluster2", "cluster1") == "True", "cluster2 -> cluster1 connected again")


def test_link_generate_mode_writes_what_apply_mode_applies(env, converged):  # pylint: disable=unused-argument
    """link.yml with eastwest_link_mode=generate writes, per cluster, the peer Gateways the apply mode applied (same names,
    labels, annotations and spec), and writes nothing to the clusters; an empty directory is refused with the fix."""
    handle, inventory, work = env["handle"], env["inventory"], env["work"]
    out = work / "peers"
    before = _writes(handle)
    proc, _elapsed, recap = run_playbook(handle, "link.yml", args=["-e", "eastwest_link_mode=generate", "-e", "eastwest_generate_dir=%s" % out],
                                         inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _writes(handle) == before
    for cluster in CLUSTERS:
        peer = [c for c in CLUSTERS if c != cluster][0]
        text = (out / ("%s-istio-remote-peers.yaml" % cluster)).read_text()
        assert text.startswith("# Peer Gateways for cluster %s:" % cluster), text
        docs = [d for d in yaml.safe_load_all(text) if d]
        assert [d["metadata"]["name"] for d in docs] == ["istio-remote-peer-" + peer]
        applied = _get(handle, cluster, "gateways.gateway.networking.k8s.io", "-n", "istio-eastwest", "istio-remote-peer-" + peer)
        assert docs[0]["spec"] == applied["spec"]
        for key in ("labels", "annotations"):
            assert docs[0]["metadata"][key].items() <= applied["metadata"][key].items(), key
    assert any(r["changed"] > 0 for r in recap.values()), recap  # the files were written
    proc, _elapsed, recap = run_playbook(handle, "link.yml", args=["-e", "eastwest_link_mode=generate", "-e", "eastwest_generate_dir=%s" % out],
                                         inventory=inventory)
    assert proc.returncode == 0 and all(r["changed"] == 0 for r in recap.values()), recap
    proc, _elapsed, recap = run_playbook(handle, "link.yml", args=["-e", "eastwest_link_mode=generate", "-e", "eastwest_generate_dir="],
                                         inventory=inventory)
    assert proc.returncode != 0 and "eastwest_link_mode=generate needs eastwest_generate_dir on cluster1" in proc.stdout, proc.stdout[-3000:]


def test_readiness_is_checked_on_every_run(env, converged):  # pylint: disable=unused-argument
    """istiod killed on converged cluster1 (the fault stays): the gloo_operator role changes nothing and fails, twice, naming
    what is not ready; a new east-west Gateway is never Programmed (no istiod): the eastwest role fails, and again on a rerun
    that changes nothing."""
    handle, inventory = env["handle"], env["inventory"]
    handle.admin("cluster1", "POST", "/_emulator/mesh/faults", {"kill_istiod": True})
    try:
        # the emulator marks the istiod pods not Ready at its next resync (every 2 s): the roles read them right away
        _wait(lambda: not _istiod_ready(handle, "cluster1"), "istiod pods not Ready under the kill_istiod fault")
        gloo = ["--limit", "cluster1", "-e", "gloo_operator_wait_retries=2", "-e", "gloo_operator_wait_delay=1"]
        for _run in range(2):
            proc, _elapsed, recap = run_playbook(handle, env["playbooks"]["gloo_operator"], args=gloo, inventory=inventory)
            assert proc.returncode != 0 and recap["cluster1"]["failed"] == 1 and recap["cluster1"]["changed"] == 0, proc.stdout[-4000:]
            assert re.search(r"Not ready on cluster1 after 2 x 1 s \(ready/pods\): istiod 0/\d+", proc.stdout), proc.stdout[-3000:]
        eastwest = ["--limit", "cluster1", "-e", "eastwest_namespace=ew-probe", "-e", "eastwest_gateway_name=ew-probe",
                    "-e", "eastwest_wait_retries=2", "-e", "eastwest_wait_delay=1"]
        for run in range(2):
            writes = handle.status("cluster1")["writes"]
            proc, _elapsed, recap = run_playbook(handle, env["playbooks"]["eastwest"], args=eastwest, inventory=inventory)
            assert proc.returncode != 0 and recap["cluster1"]["failed"] == 1, proc.stdout[-4000:]
            # the task that applies the Gateway is the one that fails on the wait (so the recap counts no change): the first
            # run wrote the namespace and the Gateway, the second nothing
            wrote = handle.status("cluster1")["writes"] - writes
            assert recap["cluster1"]["changed"] == 0 and (wrote == 2 if run == 0 else wrote == 0), (recap, wrote)
            assert "The east-west Gateway ew-probe/ew-probe on cluster1 is not Programmed with an address after 2 x 1 s" in proc.stdout, \
                proc.stdout[-3000:]
    finally:
        handle.admin("cluster1", "DELETE", "/_emulator/mesh/faults")
        handle.kubectl("delete", "namespace", "ew-probe", "--ignore-not-found", context="cluster1")
    _wait(lambda: _peer_connected(handle, "cluster2", "cluster1") == "True", "cluster2 -> cluster1 connected again")


@pytest.mark.parametrize("playbook", ["site.yml", "single_cluster.yml"])
def test_playbooks_installing_istio_refuse_a_missing_istio_version(env, playbook):
    handle = env["handle"]
    with open(env["inventory"]) as fh:
        data = json.load(fh)
    group = data["all"]["children"]["k8s_clusters"]
    # the decoy alone: nothing runs on it, so any write the playbook made would show in its counters
    group["hosts"] = {DECOY: {"kube_context": DECOY}}
    del group["vars"]["mesh_istio_version"]
    group["vars"]["pki_dir"] = str(env["work"] / ("pki-" + playbook))
    inventory = str(env["work"] / ("inventory-%s.json" % playbook))
    with open(inventory, "w") as fh:
        json.dump(data, fh)
    before = _writes(handle)
    proc, _elapsed, _recap = run_playbook(handle, playbook, inventory=inventory)
    assert proc.returncode != 0
    assert "Input validation refused the run" in proc.stdout, proc.stdout[-3000:]
    assert "decoy: mesh_istio_version is not set" in proc.stdout, proc.stdout[-3000:]
    assert _writes(handle)[DECOY] == before[DECOY]
    assert not os.path.exists(group["vars"]["pki_dir"])


def test_teardown_removes_only_its_hosts_cluster(env, converged):  # pylint: disable=unused-argument
    """playbooks/teardown.yml (no module_defaults any more) on cluster2: cluster2's mesh is gone, cluster1's is still there,
    the decoy is untouched."""
    handle, inventory = env["handle"], env["inventory"]
    before = _writes(handle)
    proc, _elapsed, recap = run_playbook(handle, "teardown.yml", args=["--limit", "cluster2"], inventory=inventory)
    assert proc.returncode == 0 and recap["cluster2"]["failed"] == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert _writes(handle)[DECOY] == before[DECOY]
    namespaces = {n["metadata"]["name"] for n in _get(handle, "cluster2", "namespaces")["items"]}
    assert not namespaces & {"spire-server", "gloo-mesh", "istio-system", "istio-eastwest"}, namespaces
    assert handle.helm("list", "-A", "-q", context="cluster2").stdout.split() == []
    assert _get(handle, "cluster1", "servicemeshcontroller", "managed-istio")["spec"]["cluster"] == "cluster1"
    assert sorted(handle.helm("list", "-A", "-q", context="cluster1").stdout.split()) == ["gloo-operator", "spire", "spire-crds"]


def _wait(predicate, what, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)
