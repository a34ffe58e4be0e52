"""Helpers of the CA rotation tests: a mesh converged by site.yml on emulated clusters, playbook runs (to the end, or killed at
a point of the rotation), and what the clusters, the trust model, the probe and the PKI tree hold."""

import base64
import glob
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "roles"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE))))

from install_helpers import ROOT, counters, run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position
from emulator.mesh import pki  # noqa: E402  pylint: disable=wrong-import-position

STATE_CONFIGMAP = "meshops-ca-rotation"
# Gates poll every second on the emulator (a real cluster needs the defaults: a kubelet sync is about a minute).
FAST = {"rotate_ca_gate_delay": 1, "rotate_ca_gate_retries": 60}


def wait_for(predicate, timeout=60.0, interval=0.2, what="condition"):
    """Poll predicate() until truthy; its value, or AssertionError with the last one."""
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, value))


class Mesh:
    """A mesh of emulated clusters converged by site.yml, and what the rotation tests read from it."""

    def __init__(self, handle, extra=None):
        self.handle = handle
        self.clusters = list(handle.clusters)
        self.extra = dict(extra or {})
        self.inventory = write_inventory(handle, extra=self.extra)
        self.pki_dir = self.extra.get("pki_dir") or os.path.join(handle.base_dir, "pki")

    # ---- playbooks ----------------------------------------------------------------------------------------------
    def run(self, playbook, variables=None, args=(), timeout=1800):
        """ansible-playbook playbooks/<playbook> with extra variables; (CompletedProcess, {host: recap})."""
        extra = ["-e", json.dumps(variables)] if variables else []
        proc, _elapsed, recap = run_playbook(self.handle, playbook, args=list(args) + extra, inventory=self.inventory, timeout=timeout)
        return proc, recap

    def converge(self):
        """site.yml; fails the test unless every cluster converged and linked."""
        proc, recap = self.run("site.yml")
        assert proc.returncode == 0 and all(r["failed"] == 0 for r in recap.values()), proc.stdout[-6000:] + proc.stderr[-2000:]
        wait_for(lambda: len(self.probe()["pairs"]) == len(self.clusters) * (len(self.clusters) - 1), what="every pair probed")
        wait_for(lambda: all(p["ok"] > 0 for p in self.probe()["pairs"].values()), what="every pair answered")
        return proc, recap

    def rotate(self, variables, args=()):
        """playbooks/rotate_ca.yml to the end."""
        return self.run("rotate_ca.yml", dict(FAST, **variables), args)

    def rotate_until(self, variables, stop, timeout=900):
        """playbooks/rotate_ca.yml, killed (SIGKILL, its whole process group) as soon as stop() is true; the output so far."""
        venv_bin = os.path.dirname(sys.executable)
        env = self.handle.env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                              ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                              PATH=os.pathsep.join([os.path.join(ROOT, ".tools", "bin"), venv_bin, os.environ.get("PATH", "")]))
        out = os.path.join(self.handle.base_dir, "rotate-%d.log" % time.time())
        with open(out, "w") as log:
            proc = subprocess.Popen([os.path.join(venv_bin, "ansible-playbook"), "-i", self.inventory, os.path.join(ROOT, "playbooks", "rotate_ca.yml"),
                                     "-e", json.dumps(dict(FAST, **variables))], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                deadline = time.time() + timeout
                while proc.poll() is None and time.time() < deadline:
                    if stop():
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                        break
                    time.sleep(0.1)
                else:
                    if proc.poll() is None:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                        raise AssertionError("the rotation did not reach the stop point within %ds" % timeout)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
        with open(out) as log:
            text = log.read()
        assert proc.returncode == -signal.SIGKILL, "the rotation ended (rc %s) before the stop point:\n%s" % (proc.returncode, text[-4000:])
        return text

    # ---- the clusters -------------------------------------------------------------------------------------------
    def kubectl_json(self, cluster, *args):
        """kubectl get ... -o json (None when not found)."""
        result = self.handle.kubectl("get", *args, "-o", "json", context=cluster, check=False)
        return json.loads(result.stdout) if result.returncode == 0 else None

    def state(self, cluster):
        """The rotation state on a cluster (None when there is none)."""
        cm = self.kubectl_json(cluster, "configmap", "-n", "istio-system", STATE_CONFIGMAP)
        return json.loads(cm["data"]["state.json"]) if cm else None

    def phase_done(self, rotation_id, phase):
        """The clusters where a phase of a rotation is done."""
        done = []
        for cluster in self.clusters:
            state = self.state(cluster)
            if state and state.get("id") == rotation_id and (state.get("phases") or {}).get(phase) == "done":
                done.append(cluster)
        return done

    def secret(self, cluster, namespace, name):
        """A Secret's data, decoded."""
        doc = self.kubectl_json(cluster, "secret", "-n", namespace, name)
        return {k: base64.b64decode(v).decode() for k, v in ((doc or {}).get("data") or {}).items()}

    def resource_versions(self, cluster):
        """resourceVersion of the two CA Secrets."""
        return tuple((self.kubectl_json(cluster, "secret", "-n", ns, name) or {}).get("metadata", {}).get("resourceVersion")
                     for ns, name in (("istio-system", "cacerts"), ("spire-server", "spiffe-upstream-ca")))

    def configmap_roots(self, cluster):
        """{namespace: [fingerprints]} of every istio-ca-root-cert ConfigMap of a cluster."""
        doc = self.handle.kubectl("get", "configmap", "-A", "--field-selector", "metadata.name=istio-ca-root-cert", "-o", "json", context=cluster)
        return {cm["metadata"]["namespace"]: [pki.fingerprint(c) for c in pki.load_certs(cm["data"]["root-cert.pem"])]
                for cm in json.loads(doc.stdout)["items"]}

    def writes(self):
        """{cluster: client writes so far} (create/update/patch/delete without dryRun)."""
        return {c: v[1] for c, v in counters(self.handle).items()}

    # ---- the trust model and the probe --------------------------------------------------------------------------
    def trust(self, cluster):
        """What the trust model says every process of a cluster holds."""
        return self.handle.admin(cluster, "GET", "/_emulator/mesh/status")["trust"]

    def probe(self):
        """The probe counters."""
        return self.handle.admin(self.clusters[0], "GET", "/_emulator/mesh/probe")

    def reset_probe(self):
        """Zero the probe counters."""
        return self.handle.admin(self.clusters[0], "DELETE", "/_emulator/mesh/probe")

    def wait_probe_rounds(self, rounds=10):
        """Let the probe run a few more rounds."""
        start = self.probe()["ticks"]
        wait_for(lambda: self.probe()["ticks"] >= start + rounds, what="%d probe rounds" % rounds)

    def chains(self, cluster):
        """{pod: [fingerprints of its chain]} of the ztunnel and east-west gateway pods of a cluster."""
        trust = self.trust(cluster)
        return {name: [c["sha256"] for c in pod["chain"]] for name, pod in dict(trust["ztunnel"], **trust["gateways"]).items()}

    def istiod(self, cluster):
        """(roots, issuing chain) fingerprints of the leading istiod."""
        istiod = self.trust(cluster)["istiod"]
        return [c["sha256"] for c in istiod["root_cert_pem"]], [c["sha256"] for c in istiod["issuing_chain"]]

    def spire_bundle(self, cluster):
        """Fingerprints of SPIRE's bundle."""
        return [c["sha256"] for c in self.trust(cluster)["spire"]["spire-server"]["bundle"]]

    # ---- the PKI tree ---------------------------------------------------------------------------------------------
    def tree_fingerprint(self, relative):
        """Fingerprint of the first certificate of a file of the PKI tree."""
        with open(os.path.join(self.pki_dir, relative)) as handle:
            return pki.fingerprint(pki.load_certs(handle.read())[0])

    def tree_chain_root(self, relative):
        """Fingerprint of the last certificate of a chain file of the PKI tree (its root)."""
        with open(os.path.join(self.pki_dir, relative)) as handle:
            return pki.fingerprint(pki.load_certs(handle.read())[-1])

    def tree_roots(self):
        """{path relative to pki_dir: fingerprint} of every root-ca.crt under the tree (root/, rotations/*/root/, archive/*)."""
        found = {}
        for path in glob.glob(os.path.join(self.pki_dir, "**", "root-ca.crt"), recursive=True):
            with open(path) as handle:
                found[os.path.relpath(path, self.pki_dir)] = pki.fingerprint(pki.load_certs(handle.read())[0])
        return found
