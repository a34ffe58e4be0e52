"""Each mesh fault (admin endpoint and `scripts/emulator fault`) on the walked clusters: its effect, and that clearing
it restores the connected mesh. Peer gateway validation and connectivity rules of the simulated istiod."""

import os
import subprocess

import pytest

import meshenv
from meshenv import ROOT, wait_for

FAULTS = "/_emulator/mesh/faults"


@pytest.fixture
def restore(walked):
    """Clear every fault after the test and wait until both peers are connected again."""
    yield walked
    for c in walked.read:
        walked.handle.admin(c, "DELETE", FAULTS)
    walked.wait_connected()


def _problems(walked, cluster, gateway):
    return walked.handle.admin(cluster, "GET", "/_emulator/mesh/status")["peering"]["istio-eastwest/" + gateway]


def test_break_network_label(restore):
    h, read = restore.handle, restore.read["cluster1"]
    h.admin("cluster1", "POST", FAULTS, {"break_network_label": True})
    wait_for(lambda: read.core.read_namespace("istio-system").metadata.labels["topology.istio.io/network"] == "broken-cluster1")
    assert h.admin("cluster1", "GET", FAULTS) == {"break_network_label": True}
    h.admin("cluster1", "DELETE", FAULTS)
    wait_for(lambda: read.core.read_namespace("istio-system").metadata.labels["topology.istio.io/network"] == "cluster1")


def test_kill_istiod(restore):
    h, read1, read2 = restore.handle, restore.read["cluster1"], restore.read["cluster2"]
    h.admin("cluster1", "POST", FAULTS, {"kill_istiod": True})
    wait_for(lambda: not any(c.status == "True" for p in read1.pods("istio-system", "app=istiod") for c in p.status.conditions
                             if c.type == "Ready"), what="istiod not ready")
    pod = read1.pods("istio-system", "app=istiod")[0]
    assert pod.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"
    wait_for(lambda: read2.peer_state("istio-remote-peer-cluster1")[0] == "False", what="cluster2 sees cluster1 down")
    assert "peer istiod is not ready" in _problems(restore, "cluster2", "istio-remote-peer-cluster1")["problems"]
    status, body = read1.license(pod.metadata.name)
    assert status == 503 and "connection refused" in body
    # nobody writes cluster1's statuses while its istiod is down: its own view stays as it was
    assert read1.peer_state("istio-remote-peer-cluster2") == ("True", "True", "True")
    dep = read1.apps.read_namespaced_deployment("istiod-gloo", "istio-system")
    assert not dep.status.ready_replicas


def test_disconnect_peer(restore):
    h, read1, read2 = restore.handle, restore.read["cluster1"], restore.read["cluster2"]
    h.admin("cluster1", "POST", FAULTS, {"disconnect_peer": "cluster2"})
    wait_for(lambda: read1.peer_state("istio-remote-peer-cluster2") == ("False", "Unknown", "True"), what="cluster1 -> cluster2 down")
    assert read2.peer_state("istio-remote-peer-cluster1") == ("True", "True", "True")


@pytest.mark.parametrize("fault,env,value", [("enable_peering_discovery", "ENABLE_PEERING_DISCOVERY", "false"),
                                             ("k8s_select_workload_entries", "PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES", "false")])
def test_istiod_env_flips(restore, fault, env, value):
    h, read1, read2 = restore.handle, restore.read["cluster1"], restore.read["cluster2"]
    before = read1.istiod_env()
    h.admin("cluster1", "POST", FAULTS, {fault: False})
    wait_for(lambda: read1.istiod_env().get(env) == value, what=env)
    h.kubectl("-n", "istio-system", "rollout", "status", "deployment/istiod-gloo", "--timeout=20s", context="cluster1")
    wait_for(lambda: read1.peer_state("istio-remote-peer-cluster2")[0] == "False", what="local peering stopped")
    if fault == "enable_peering_discovery":
        wait_for(lambda: read2.peer_state("istio-remote-peer-cluster1")[0] == "False", what="peer refuses")
    h.admin("cluster1", "DELETE", FAULTS)
    wait_for(lambda: read1.istiod_env() == before, what="env restored")


def test_cli_fault_subcommands(restore):
    """`scripts/emulator fault CLUSTER <mesh key>=VALUE` and `... clear` reach the mesh faults."""
    h = restore.handle
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
    cli = [os.path.join(ROOT, "scripts", "emulator"), "--state-dir", h.state_dir]
    out = subprocess.run(cli + ["fault", "cluster2", "disconnect_peer=all", "latency_ms=0"], env=env, check=True, capture_output=True, text=True)
    assert '"mesh": {"disconnect_peer": "all"}' in out.stdout
    wait_for(lambda: restore.read["cluster2"].peer_state("istio-remote-peer-cluster1")[0] == "False")
    subprocess.run(cli + ["fault", "cluster2", "clear"], env=env, check=True, capture_output=True)
    assert h.admin("cluster2", "GET", FAULTS) == {}
    restore.wait_connected()


def test_unknown_mesh_fault_rejected(walked):
    with pytest.raises(Exception) as info:
        walked.handle.admin("cluster1", "POST", FAULTS, {"nonsense": True})
    assert "400" in str(info.value)


def _apply_peer(walked, src, gw):
    meshenv.apply(walked.handle, src, [gw])
    return gw["metadata"]["name"]


def _delete_gw(walked, src, name):
    walked.handle.kubectl("delete", "gateway", "-n", "istio-eastwest", name, context=src)


def test_validation_failures_are_invalid(walked):
    read = walked.read["cluster1"]
    addr = walked.address["cluster2"]
    no_label = meshenv.remote_gateway("bad1", "x", "cluster2", addr)
    del no_label["metadata"]["labels"]["topology.istio.io/network"]
    status_only = meshenv.remote_gateway("bad2", "cluster2", "cluster2", addr)
    del status_only["spec"]["addresses"]
    names = [_apply_peer(walked, "cluster1", no_label), _apply_peer(walked, "cluster1", status_only)]
    try:
        for name, text in zip(names, ['no "topology.istio.io/network" label found', "no spec.addresses found in gateway"]):
            conds = wait_for(lambda n=name: read.conditions(n).get("gloo.solo.io/PeerConnected") and read.conditions(n))
            for ctype in ("PeerConnected", "PeeringSucceeded", "PeerDataPlaneProgrammed"):
                status, reason, message = conds["gloo.solo.io/" + ctype]
                assert (status, reason) == ("False", "Invalid")
                assert message == "no network started, encountered error validating gateway: " + text
            assert conds["Accepted"][0] == conds["Programmed"][0] == "True"
        # status-only addresses are rejected with their own message
        read.custom.patch_namespaced_custom_object_status("gateway.networking.k8s.io", "v1", "istio-eastwest", "gateways", names[1],
                                                          {"status": {"addresses": [{"type": "IPAddress", "value": addr}]}})
        wait_for(lambda: read.conditions(names[1])["gloo.solo.io/PeerConnected"][2].endswith(
            "no spec.addresses found in gateway (but found status.addresses)"), what="status-only message")
    finally:
        for name in names:
            _delete_gw(walked, "cluster1", name)


@pytest.mark.parametrize("case", ["wrong-address", "trust-domain", "namespace", "no-hbone", "local"])
def test_peer_rules(walked, case):
    read = walked.read["cluster1"]
    addr = walked.address["cluster2"]
    if case == "wrong-address":
        gw = meshenv.remote_gateway("elsewhere", "elsewhere", "elsewhere", "203.0.113.250")
        expected = ("False", "Unknown", "True")
    elif case == "trust-domain":
        gw = meshenv.remote_gateway("td", "cluster2", "cluster.local", addr)
        expected = ("False", "Unknown", "True")
    elif case == "namespace":
        walked.handle.kubectl("create", "namespace", "peers", context="cluster1", check=False)
        gw = meshenv.remote_gateway("ns", "cluster2", "cluster2", addr, namespace="peers")
        expected = ("False", "Unknown", "True")
    elif case == "no-hbone":
        gw = meshenv.remote_gateway("nohbone", "cluster2", "cluster2", addr, listeners=[meshenv.LISTENERS[1]])
        expected = ("True", "True", "False")
    else:
        gw = meshenv.remote_gateway("cluster1", "cluster1", "cluster1", walked.address["cluster1"])
        expected = (None, None, None)
    name = _apply_peer(walked, "cluster1", gw)
    ns = gw["metadata"]["namespace"]
    try:
        wait_for(lambda: read.conditions(name, ns).get("Programmed"), what="status written")
        wait_for(lambda: read.peer_state(name, ns) == expected, what="%s -> %s" % (case, expected))
        report = walked.handle.admin("cluster1", "GET", "/_emulator/mesh/status")["peering"]["%s/%s" % (ns, name)]
        if case == "local":
            assert report["ignored"].startswith("peer gateway is for local cluster network")
        elif case == "trust-domain":
            assert any("expected SAN" in p for p in report["problems"])
        elif case == "no-hbone":
            assert read.conditions(name)["gloo.solo.io/PeerDataPlaneProgrammed"][2] == "no listener with protocol HBONE found in gateway"
    finally:
        walked.handle.kubectl("delete", "gateway", "-n", ns, name, context="cluster1")


def test_license_without_multicluster_blocks_peering(walked):
    h, read1, read2 = walked.handle, walked.read["cluster1"], walked.read["cluster2"]
    chart = os.path.join(meshenv.CHARTS, "gloo-operator")
    h.helm("upgrade", "gloo-operator", chart, "-n", "gloo-mesh", "--reuse-values", "--set",
           "manager.env.SOLO_ISTIO_LICENSE_KEY=emu-license:GlooCore:2099-12-31", context="cluster2")
    try:
        wait_for(lambda: read2.istiod_env()["SOLO_LICENSE_KEY"].startswith("emu-license:GlooCore"), what="license rolled out")
        wait_for(lambda: read1.peer_state("istio-remote-peer-cluster2")[0] == "False", what="cluster1 -> cluster2 refused")
        wait_for(lambda: read2.peer_state("istio-remote-peer-cluster1")[0] == "False", what="cluster2 cannot peer")
        wait_for(lambda: read2.license()[1].replace(" ", "") == '{"State":"OK","Product":"GlooCore"}', what="license endpoint")
    finally:
        h.helm("upgrade", "gloo-operator", chart, "-n", "gloo-mesh", "--reuse-values", "--set",
               "manager.env.SOLO_ISTIO_LICENSE_KEY=" + meshenv.LICENSE, context="cluster2")
    walked.wait_connected()
