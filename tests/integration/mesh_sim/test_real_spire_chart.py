"""The real SPIRE charts (spire-crds 0.5.0, spire 0.24.2) installed with helm --wait --atomic on an emulated cluster
with a default StorageClass, with the spire role's values (rendered from roles/spire/templates/values.yml.j2 for
cluster1 of inventories/local) and the spiffe_ids role's ClusterSPIFFEIDs: the release is deployed and what the chart
renders is there and ready enough for helm --wait. Without a default StorageClass the server's claim never binds and
the atomic install is rolled back (issue 14, items 1 and 3).

The rendered configuration carries the role's fixes (bundle_file_path, className/watchClassless, authorized_delegates) and
the socket host paths the agent, the CSI driver and ztunnel share; the mesh check reads what the chart renders (issue 14,
item 3).

The charts are read from ../shared/upstream-charts (relative to the repository root) or MESHOPS_UPSTREAM_CHARTS; where
they are absent the tests skip and say so (tests/integration/upstream_charts.py)."""

import base64
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import yaml
from kubernetes import client, watch

from meshenv import ROOT, wait_for
from meshpki import TestPki

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))

import upstream_charts  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow

SPIRE = upstream_charts.SPIRE
SPIRE_CRDS = upstream_charts.SPIRE_CRDS
NS = "spire-server"
if not upstream_charts.available():
    pytestmark = [pytestmark, pytest.mark.skip(reason=upstream_charts.SKIP_REASON)]

RENDER = textwrap.dedent("""\
    - hosts: cluster1
      gather_facts: false
      vars_files:
        - %(root)s/roles/spire/defaults/main.yml
        - %(root)s/roles/spire/vars/main.yml
        - %(root)s/roles/spiffe_ids/defaults/main.yml
      vars:
        pki_dir: %(pki)s
      tasks:
        - name: The spire role's values and the spiffe_ids role's ClusterSPIFFEIDs
          ansible.builtin.copy:
            dest: "%(out)s/{{ item.dest }}"
            content: "{{ lookup('ansible.builtin.template', item.src) }}"
            mode: "0600"
          loop:
            - {src: "%(root)s/roles/spire/templates/values.yml.j2", dest: values.yml}
            - {src: "%(root)s/roles/spiffe_ids/templates/clusterspiffeids.yml.j2", dest: clusterspiffeids.yml}
    """)


def _render_role_files(handle, pki_dir):
    """values.yml and clusterspiffeids.yml as the roles render them for cluster1 of inventories/local."""
    out = os.path.join(handle.base_dir, "rendered")
    os.makedirs(out, exist_ok=True)
    book = os.path.join(out, "render.yml")
    with open(book, "w", encoding="utf-8") as fh:
        fh.write(RENDER % {"root": ROOT, "pki": pki_dir, "out": out})
    inventory = os.path.join(ROOT, "inventories", "local", "hosts.yml")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, book,
                           "-e", "ansible_python_interpreter=" + sys.executable],
                          env=handle.env(ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections")),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return os.path.join(out, "values.yml"), os.path.join(out, "clusterspiffeids.yml")


def _upstream_ca(handle, context, pki):
    files = pki.files["cluster1"]
    handle.kubectl("create", "namespace", NS, context=context)
    handle.kubectl("-n", NS, "create", "secret", "generic", "spiffe-upstream-ca", "--from-file=tls.crt=" + files["spire_crt"],
                   "--from-file=tls.key=" + files["spire_key"], "--from-file=bundle.crt=" + os.path.join(pki.base, "root-ca-bundle.pem"),
                   context=context)


class JobLog:
    """Every watch event on the Jobs of a namespace while it runs (hook Jobs are deleted once they succeeded)."""

    def __init__(self, api_client, namespace):
        self.batch = client.BatchV1Api(api_client)
        self.namespace = namespace
        self.events = []
        self.stopped = threading.Event()
        self.rv = self.batch.list_namespaced_job(namespace).metadata.resource_version
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.is_set():
            for event in watch.Watch().stream(self.batch.list_namespaced_job, self.namespace, resource_version=self.rv, timeout_seconds=2):
                job = event["object"]
                self.rv = job.metadata.resource_version
                conditions = (job.status.conditions if job.status else None) or []
                complete = any(c.type == "Complete" and c.status == "True" for c in conditions)
                self.events.append((event["type"], job.metadata.name, complete))

    def stop(self):
        """Stop watching."""
        self.stopped.set()
        self.thread.join(10)

    def completed_then_deleted(self, name):
        """Whether the Job was seen Complete and then deleted (helm.sh/hook-delete-policy hook-succeeded)."""
        seen = [(etype, complete) for etype, job, complete in self.events if job == name]
        done = next((i for i, (_etype, complete) in enumerate(seen) if complete), None)
        return done is not None and any(etype == "DELETED" for etype, _complete in seen[done:])


@pytest.fixture(scope="module")
def installed(emulator_factory, tmp_path_factory):
    """cluster1 (default StorageClass) with the real charts installed by helm --wait --atomic; the install time."""
    handle = emulator_factory(["cluster1"])
    pki = TestPki(str(tmp_path_factory.mktemp("pki-real-chart")), ["cluster1"])
    values, spiffe_ids = _render_role_files(handle, pki.base)
    _upstream_ca(handle, "cluster1", pki)
    jobs = JobLog(handle.client("cluster1"), NS)
    start = time.monotonic()
    handle.helm("upgrade", "-i", "spire-crds", SPIRE_CRDS, "-n", NS, "--wait", "--atomic", "--timeout", "5m", context="cluster1")
    crds_done = time.monotonic()
    handle.helm("upgrade", "-i", "spire", SPIRE, "-n", NS, "-f", values, "--wait", "--atomic", "--timeout", "5m", context="cluster1")
    elapsed = {"spire-crds": crds_done - start, "spire": time.monotonic() - crds_done}
    handle.kubectl("apply", "-f", spiffe_ids, context="cluster1")
    print("real-chart install on the emulator: spire-crds %.1f s, spire %.1f s" % (elapsed["spire-crds"], elapsed["spire"]))
    yield {"handle": handle, "values": values, "jobs": jobs, "elapsed": elapsed, "pki": pki}
    jobs.stop()


def _wait_value(fetch, accept, what):
    """Poll fetch() (30 s at most) until accept(value); returns the value."""
    last = []
    wait_for(lambda: accept(last.append(fetch()) or last[-1]), timeout=30, what=what)
    return last[-1]


def _get(handle, *args):
    return json.loads(handle.kubectl("get", *args, "-o", "json", context="cluster1").stdout)


def test_release_deployed_and_what_the_chart_renders_is_ready(installed):
    handle = installed["handle"]
    for release in ("spire-crds", "spire"):
        status = json.loads(handle.helm("status", release, "-n", NS, "-o", "json", context="cluster1").stdout)
        assert status["info"]["status"] == "deployed", release
    sts = _get(handle, "statefulset", "spire-server", "-n", NS)
    assert sts["spec"]["updateStrategy"]["type"] == "RollingUpdate" and sts["status"]["readyReplicas"] == 1
    for name in ("spire-agent", "spire-spiffe-csi-driver"):
        ds = _get(handle, "daemonset", name, "-n", NS)
        assert ds["status"]["desiredNumberScheduled"] == 2 and ds["status"]["numberReady"] == 2, name
    oidc = _get(handle, "deployment", "spire-spiffe-oidc-discovery-provider", "-n", NS)
    assert oidc["status"]["availableReplicas"] == 1
    assert oidc["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    pvc = _get(handle, "pvc", "spire-data-spire-server-0", "-n", NS)
    assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["storageClassName"] == "standard"
    pod = _get(handle, "pod", "spire-server-0", "-n", NS)
    assert {"name": "spire-data", "persistentVolumeClaim": {"claimName": "spire-data-spire-server-0"}} in pod["spec"]["volumes"]
    assert all(c["ready"] for c in pod["status"]["containerStatuses"])
    vwc = _get(handle, "validatingwebhookconfiguration", "spire-server-spire-controller-manager-webhook")
    assert sorted(w["name"] for w in vwc["webhooks"]) == ["vclusterfederatedtrustdomain.kb.io", "vclusterspiffeid.kb.io"]
    bundle = _get(handle, "configmap", "spire-bundle", "-n", NS)
    assert bundle["data"]["bundle.crt"] == installed["pki"].root_pem       # the k8sbundle notifier published the root


def test_the_post_install_hook_job_completed_and_was_deleted(installed):
    jobs = installed["jobs"]
    wait_for(lambda: jobs.completed_then_deleted("spire-server-post-install"), timeout=30, what="post-install hook Job seen Complete, then deleted")
    assert _get(installed["handle"], "jobs", "-n", NS)["items"] == []


def test_six_cluster_spiffe_ids_reconciled(installed):
    handle = installed["handle"]

    def reconciled():
        items = _get(handle, "clusterspiffeids")["items"]
        return items if len(items) == 6 and all((i.get("status") or {}).get("stats") for i in items) else None
    items = wait_for(reconciled, timeout=30, what="six ClusterSPIFFEIDs with status.stats")
    assert sorted(i["metadata"]["name"] for i in items) == [
        "istio-ambient-reg", "istio-waypoint-reg", "istio-ztunnel-reg", "spire-server-spire-default",
        "spire-server-spire-oidc-discovery-provider", "spire-server-spire-test-keys"]
    assert {i["spec"]["className"] for i in items} == {"spire-server-spire"}
    oidc = next(i for i in items if i["metadata"]["name"] == "spire-server-spire-oidc-discovery-provider")
    assert oidc["status"]["stats"]["podsSelected"] == 1


def _host_paths(workload):
    return dict((v["name"], v["hostPath"]["path"]) for v in workload["spec"]["template"]["spec"]["volumes"] if "hostPath" in v)


def test_the_rendered_configuration_carries_the_roles_fixes(installed):
    """bundle_file_path (the bundle value is set), className/watchClassless and authorized_delegates, as deployed; socketPath is
    a host path whose directory the agent and the CSI driver share, and the admin socket is where ztunnel looks for it."""
    handle = installed["handle"]
    server = json.loads(_get(handle, "configmap", "spire-server", "-n", NS)["data"]["server.conf"])
    disk = server["plugins"]["UpstreamAuthority"][0]["disk"]["plugin_data"]
    assert disk["bundle_file_path"] == "/run/spire/upstream_ca/bundle.crt"
    manager = yaml.safe_load(_get(handle, "configmap", "spire-controller-manager", "-n", NS)["data"]["controller-manager-config.yaml"])
    assert manager["className"] == "spire-server-spire" and manager["watchClassless"] is False
    agent = json.loads(_get(handle, "configmap", "spire-agent", "-n", NS)["data"]["agent.conf"])
    assert agent["agent"]["authorized_delegates"] == ["spiffe://cluster1/ns/istio-system/sa/ztunnel"]
    assert agent["agent"]["socket_path"] == "/tmp/spire-agent/public/spire-agent.sock"   # in the container; on the node:
    agent_paths = _host_paths(_get(handle, "daemonset", "spire-agent", "-n", NS))
    csi_paths = _host_paths(_get(handle, "daemonset", "spire-spiffe-csi-driver", "-n", NS))
    with open(installed["values"], encoding="utf-8") as fh:
        values = yaml.safe_load(fh)
    socket_dir = os.path.dirname(values["spire-agent"]["socketPath"])
    assert socket_dir == "/run/spire/agent-sockets" and values["spiffe-csi-driver"]["agentSocketPath"] == values["spire-agent"]["socketPath"]
    assert agent_paths["spire-agent-socket-dir"] == csi_paths["spire-agent-socket-dir"] == socket_dir
    # the ztunnel chart's default spire.adminSockHostPath, which the gloo_operator role keeps
    assert agent_paths["spire-agent-admin-socket-dir"] == "/run/spire/agent/sockets/csi.spiffe.io/admin"


def test_the_mesh_check_reads_what_the_real_chart_renders(installed):
    """The mesh check's reader and SPIRE checks on the real chart's objects: every component running, the claim Bound, the
    webhook configuration, no failed hook, six ClusterSPIFFEIDs reconciled (the chart's own ones count for no ambient pod)."""
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_snapshot  # pylint: disable=import-outside-toplevel
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import spire as checks  # pylint: disable=import-outside-toplevel
    handle = installed["handle"]
    wait_for(lambda: len([i for i in _get(handle, "clusterspiffeids")["items"] if (i.get("status") or {}).get("stats")]) == 6,
             timeout=30, what="six ClusterSPIFFEIDs reconciled")
    snap = _k8s_snapshot.take_snapshot(handle.client("cluster1"), cluster_name="cluster1", license_check=False)
    spire = snap["spire"]
    assert [c["phase"] for c in spire["claims"]] == ["Bound"] and spire["webhook"]["present"] is True
    assert sorted(d["app"] for d in spire["daemonsets"]) == ["agent", "spiffe-csi-driver"]
    assert len(spire["pods"]["oidc"]) == 1 and spire["host_paths"]["agent"]["spire-agent-socket-dir"] == "/run/spire/agent-sockets"
    assert spire["controller_manager"]["ignore_namespaces"][:2] == ["kube-system", "kube-public"]
    components = checks.check_spire_components({"cluster1": snap})
    assert [(f["level"], f["message"]) for f in components] == [
        ("ok", "SPIRE running: server 1/1, agent 2/2, CSI driver 2/2, OIDC discovery provider 1/1")]
    ids = checks.check_cluster_spiffe_ids({"cluster1": snap})
    assert [f["level"] for f in ids if f["level"] not in ("info", "ok")] == []
    assert ids[-1]["message"].startswith("all ClusterSPIFFEIDs reconciled (className spire-server-spire)")


def test_an_upgrade_runs_the_upgrade_hooks(installed):
    handle = installed["handle"]
    handle.helm("upgrade", "spire", SPIRE, "-n", NS, "-f", installed["values"], "--wait", "--atomic", "--timeout", "5m", context="cluster1")
    status = json.loads(handle.helm("status", "spire", "-n", NS, "-o", "json", context="cluster1").stdout)
    assert (status["version"], status["info"]["status"]) == (2, "deployed")
    jobs = installed["jobs"]
    wait_for(lambda: jobs.completed_then_deleted("spire-server-pre-upgrade") and jobs.completed_then_deleted("spire-server-post-upgrade"),
             timeout=30, what="pre/post-upgrade hook Jobs Complete, then deleted")


def test_the_simulated_server_validates_the_real_charts_upstream_ca(installed):
    """The simulator reads the real chart's server.conf and upstream CA mounts: a bundle of another root makes
    spire-server crash with the disk plugin's error, and the agents and the OIDC discovery provider follow; the right
    bundle makes them Ready again."""
    handle = installed["handle"]
    foreign = TestPki(os.path.join(handle.base_dir, "foreign"), [], root_name="Foreign Root")

    def set_bundle(pem):
        secret = _get(handle, "secret", "spiffe-upstream-ca", "-n", NS)
        secret["data"]["bundle.crt"] = base64.b64encode(pem.encode()).decode()
        handle.kubectl("replace", "-f", "-", context="cluster1", stdin=json.dumps(secret))

    def states():
        """{app name: [pods]} of the server, the agents and the OIDC provider (4 pods)."""
        by_app = {}
        for pod in _get(handle, "pods", "-n", NS)["items"]:
            app = pod["metadata"]["labels"].get("app.kubernetes.io/name")
            if app in ("server", "agent", "spiffe-oidc-discovery-provider") and pod["status"].get("containerStatuses"):
                by_app.setdefault(app, []).append(pod)
        return by_app if sum(len(v) for v in by_app.values()) == 4 else None

    def ready(pod):
        return all(c["ready"] for c in pod["status"]["containerStatuses"])
    set_bundle(foreign.root_pem)
    try:
        broken = _wait_value(states, lambda st: st and not any(ready(p) for pods in st.values() for p in pods),
                             what="server, agents and OIDC provider not Ready")
        server = next(c for c in broken["server"][0]["status"]["containerStatuses"] if c["name"] == "spire-server")
        assert server["lastState"]["terminated"]["message"] == (
            'failed to configure plugin "disk": rpc error: code = InvalidArgument desc = unable to load upstream CA: certificate '
            "cannot be validated with the provided bundle or is not self signed")
    finally:
        set_bundle(installed["pki"].root_pem)
    _wait_value(states, lambda st: st and all(ready(p) for pods in st.values() for p in pods), what="Ready again")


def test_without_a_default_storage_class_the_atomic_install_is_rolled_back(emulator_factory, tmp_path_factory):
    """No default StorageClass: spire-server's claim stays Pending, the server never Ready, helm --wait times out and
    --atomic uninstalls the release (a 20 s timeout here; 5 minutes with the role's default)."""
    handle = emulator_factory(["cluster1"], default_storage_class="none")
    pki = TestPki(str(tmp_path_factory.mktemp("pki-real-chart-nosc")), ["cluster1"])
    values, _spiffe_ids = _render_role_files(handle, pki.base)
    _upstream_ca(handle, "cluster1", pki)
    handle.helm("upgrade", "-i", "spire-crds", SPIRE_CRDS, "-n", NS, "--wait", "--atomic", "--timeout", "2m", context="cluster1")
    failed = handle.helm("upgrade", "-i", "spire", SPIRE, "-n", NS, "-f", values, "--wait", "--atomic", "--timeout", "20s",
                         context="cluster1", check=False)
    assert failed.returncode != 0
    assert "context deadline exceeded" in failed.stderr or "timed out" in failed.stderr, failed.stderr
    assert "uninstall" in failed.stderr.lower() or "rollback" in failed.stderr.lower(), failed.stderr
    assert handle.helm("list", "-n", NS, "-q", context="cluster1").stdout.split() == ["spire-crds"]
