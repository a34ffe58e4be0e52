"""Simulated versions (day-2 upgrades): version labels and images of the simulated Istio workloads follow the
ServiceMeshController's spec.version and a change rolls them; Helm chart versions are visible; the broken_version
fault makes the pods of a version (Istio, or a chart) crash-loop so a health gate fails, and the probe with it."""

import json
import os
import shutil

import yaml

import meshenv
from trustenv import wait_for

SMC = ("operator.gloo.solo.io", "v1", "servicemeshcontrollers", "managed-istio")
FAULTS = "/_emulator/mesh/faults"


def _get(handle, cluster, *args):
    return json.loads(handle.kubectl("get", "-o", "json", *args, context=cluster).stdout)


def _set_version(handle, cluster, version):
    handle.kubectl("patch", "servicemeshcontroller", "managed-istio", "--type", "merge", "-p", json.dumps({"spec": {"version": version}}),
                   context=cluster)


def _pods(handle, cluster, namespace, selector):
    return _get(handle, cluster, "pods", "-n", namespace, "-l", selector)["items"]


def _ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def _istio_versions(handle, cluster):
    return handle.admin(cluster, "GET", "/_emulator/mesh/status")["versions"]["istio"]


def test_version_labels_images_and_rollout(emulator_factory):
    handle = emulator_factory(["solo"])
    meshenv.install_gloo(handle, "solo", "solo", "solo", "solo", spire=False)
    meshenv.expose(handle, "solo", "solo", "solo")
    version = "1.27.3-patch0"
    for kind, name, selector in (("deployment", "istiod-gloo", "app=istiod"), ("daemonset", "ztunnel", "app=ztunnel"),
                                 ("daemonset", "istio-cni-node", "k8s-app=istio-cni-node")):
        obj = _get(handle, "solo", kind, name, "-n", "istio-system")
        assert obj["metadata"]["labels"]["app.kubernetes.io/version"] == version and obj["metadata"]["labels"]["istio.io/rev"] == "gloo"
        pods = _pods(handle, "solo", "istio-system", selector)
        assert pods and all(p["metadata"]["labels"]["app.kubernetes.io/version"] == version and
                            p["spec"]["containers"][0]["image"].endswith(":%s-solo" % version) for p in pods)
    gateway = _pods(handle, "solo", "istio-eastwest", "gateway.networking.k8s.io/gateway-name=istio-eastwest")
    assert gateway[0]["spec"]["containers"][0]["image"].endswith("proxyv2:%s-solo" % version)
    assert _istio_versions(handle, "solo") == {"istiod": version, "ztunnel": version, "istio-cni": version}
    old = {p["metadata"]["name"] for p in _pods(handle, "solo", "istio-system", "app in (istiod,ztunnel)")}

    _set_version(handle, "solo", "1.28.0")
    # the operator reconciles after the write: rollout status would otherwise see the old generation, already rolled out
    for kind, name in (("deployment", "istiod-gloo"), ("daemonset", "ztunnel")):
        wait_for(lambda kind=kind, name=name: _get(handle, "solo", kind, name, "-n", "istio-system")["spec"]["template"]["metadata"][
            "labels"]["app.kubernetes.io/version"] == "1.28.0", what="%s %s at 1.28.0" % (kind, name))
    handle.kubectl("-n", "istio-system", "rollout", "status", "deployment/istiod-gloo", "--timeout=30s", context="solo")
    handle.kubectl("-n", "istio-system", "rollout", "status", "daemonset/ztunnel", "--timeout=30s", context="solo")
    pods = _pods(handle, "solo", "istio-system", "app in (istiod,ztunnel)")
    assert not old & {p["metadata"]["name"] for p in pods} and all(_ready(p) for p in pods)
    assert all(p["metadata"]["labels"]["app.kubernetes.io/version"] == "1.28.0" for p in pods)
    wait_for(lambda: _istio_versions(handle, "solo") == {"istiod": "1.28.0", "ztunnel": "1.28.0", "istio-cni": "1.28.0"}, what="1.28.0")
    wait_for(lambda: _pods(handle, "solo", "istio-eastwest", "gateway.networking.k8s.io/gateway-name=istio-eastwest")[0]["spec"][
        "containers"][0]["image"].endswith("proxyv2:1.28.0-solo"), what="the east-west gateway follows istiod's version")
    _set_version(handle, "solo", version)
    handle.kubectl("-n", "istio-system", "rollout", "status", "deployment/istiod-gloo", "--timeout=30s", context="solo")


def test_a_broken_istio_version_crash_loops_and_fails_the_gate(fresh_mesh):
    mesh = fresh_mesh()
    handle = mesh.handle
    for c in mesh.clusters:
        handle.admin(c, "POST", FAULTS, {"broken_version": "1.28.1"})
    mesh.reset_probe()
    _set_version(handle, "c1", "1.28.1")          # the canary

    def crash_looping():
        pods = _pods(handle, "c1", "istio-system", "app in (istiod,ztunnel)")
        return pods and all(p["metadata"]["labels"]["app.kubernetes.io/version"] == "1.28.1" and not _ready(p) for p in pods) and pods
    pods = wait_for(crash_looping, what="1.28.1 pods crash-loop")
    status = pods[0]["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff" and "broken version 1.28.1" in status["lastState"]["terminated"]["message"]
    name = pods[0]["metadata"]["name"]
    wait_for(lambda: _get(handle, "c1", "pod", name, "-n", "istio-system")["status"]["containerStatuses"][0]["restartCount"] >= 3,
             timeout=40, what="restartCount grows")
    gate = handle.kubectl("-n", "istio-system", "rollout", "status", "deployment/istiod-gloo", "--timeout=2s", context="c1", check=False)
    assert gate.returncode != 0
    dep = _get(handle, "c1", "deployment", "istiod-gloo", "-n", "istio-system")
    assert {c["type"]: c["status"] for c in dep["status"]["conditions"]}["Available"] == "False"
    # the probe fails with the canary's data plane; the other cluster is untouched and still serves
    wait_for(lambda: mesh.probe()["pairs"]["c2->c1"]["failing"], what="probe c2 -> c1 failing")
    assert "no ready ztunnel in c1" in mesh.probe()["pairs"]["c1->c2"]["last_failure"]["reason"]
    assert all(_ready(p) and p["metadata"]["labels"]["app.kubernetes.io/version"] == "1.27.3-patch0"
               for p in _pods(handle, "c2", "istio-system", "app in (istiod,ztunnel)"))
    # rollback: the canary recovers, the probe answers again
    _set_version(handle, "c1", "1.27.3-patch0")
    handle.kubectl("-n", "istio-system", "rollout", "status", "deployment/istiod-gloo", "--timeout=30s", context="c1")
    handle.kubectl("-n", "istio-system", "rollout", "status", "daemonset/ztunnel", "--timeout=30s", context="c1")
    wait_for(lambda: not any(p["failing"] for p in mesh.probe()["pairs"].values()), timeout=30, what="probe recovered")


def test_a_broken_chart_version(fresh_mesh, tmp_path):
    mesh = fresh_mesh(("solo",))
    handle = mesh.handle
    chart = tmp_path / "spire"
    shutil.copytree(os.path.join(meshenv.CHARTS, "spire"), chart)
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    meta.update(version="0.24.3", appVersion="1.11.3")
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
    handle.admin("solo", "POST", FAULTS, {"broken_version": "spire-0.24.3"})
    values = os.path.join(handle.base_dir, "spire-solo.json")
    handle.helm("upgrade", "spire", str(chart), "-n", "spire-server", "-f", values, context="solo")
    wait_for(lambda: handle.admin("solo", "GET", "/_emulator/mesh/status")["versions"]["helm"]["spire-server/spire"]["chart"] == "spire-0.24.3",
             what="the release shows the new chart")

    def all_down():
        pods = _pods(handle, "solo", "spire-server", "app.kubernetes.io/name in (server,agent,spiffe-csi-driver)")
        return pods and not any(_ready(p) for p in pods)
    wait_for(all_down, what="SPIRE pods of spire-0.24.3 crash-loop")
    # ztunnel needs a ready agent on its node
    wait_for(lambda: not any(_ready(p) for p in _pods(handle, "solo", "istio-system", "app=ztunnel")), what="ztunnel follows")
    handle.helm("rollback", "spire", "1", "-n", "spire-server", context="solo")
    handle.kubectl("-n", "spire-server", "wait", "--for=condition=Ready", "pods", "--all", "--timeout=30s", context="solo")
    assert handle.admin("solo", "GET", "/_emulator/mesh/status")["versions"]["helm"]["spire-server/spire"]["chart"] == "spire-0.24.2"
    wait_for(lambda: all(_ready(p) for p in _pods(handle, "solo", "istio-system", "app=ztunnel")), what="ztunnel ready again")
