"""Run the collection's install playbooks against an emulator handle (shared by the tests here and bench/converge.py)."""

import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import upstream_charts  # noqa: E402  pylint: disable=wrong-import-position

# An Istio release whose supported Kubernetes versions (istio.io) include the emulated clusters' v1.33.
ISTIO_VERSION = "1.27.3-patch0"
LICENSE = "emu-license:GlooMesh:2099-12-31"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


def write_inventory(handle, license_key=LICENSE, extra=None):
    """An inventory (JSON is YAML) of the handle's clusters with the real SPIRE charts when available (else the stand-ins,
    upstream_charts.py) and the Gloo Operator stand-in; returns its path."""
    charts = os.path.join(ROOT, "tests", "charts")
    group_vars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "kubeconfig_path": handle.kubeconfig,
        "pki_dir": os.path.join(handle.base_dir, "pki"),
        "mesh_istio_version": ISTIO_VERSION,
        "mesh_license_key": license_key,
        "gloo_operator_chart_ref": os.path.join(charts, "gloo-operator"),
        "gloo_operator_gateway_api_crds_src": os.path.join(charts, "gateway-api", "standard-install.yaml"),
        "mesh_check_reports_dir": os.path.join(handle.base_dir, "reports"),
    }
    group_vars.update(upstream_charts.spire_chart_refs())
    group_vars.update(extra or {})
    inventory = {"all": {"children": {"k8s_clusters": {
        "hosts": {c: {"kube_context": c} for c in handle.clusters}, "vars": group_vars}}}}
    path = os.path.join(handle.base_dir, "inventory.yml")
    with open(path, "w") as fh:
        json.dump(inventory, fh)
    return path


def run_playbook(handle, playbook="site.yml", args=(), inventory=None, timeout=1800, env=None):
    """ansible-playbook playbooks/<playbook> (or an absolute path); returns (CompletedProcess, seconds, {host: recap dict}).
    `env` adds environment variables."""
    inventory = inventory or write_inventory(handle)
    venv_bin = os.path.dirname(sys.executable)
    env = handle.env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
                     ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                     PATH=os.pathsep.join([os.path.join(ROOT, ".tools", "bin"), venv_bin, os.environ.get("PATH", "")]), **(env or {}))
    cmd = [os.path.join(venv_bin, "ansible-playbook"), "-i", inventory, os.path.join(ROOT, "playbooks", playbook)] + list(args)
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = time.monotonic() - start
    recap = {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                          "failed": int(m.group(5)), "skipped": int(m.group(6))} for m in RECAP.finditer(proc.stdout)}
    return proc, elapsed, recap


def counters(handle):
    """{cluster: (requests, writes, dry_runs)} from the emulator's admin status."""
    out = {}
    for cluster in handle.clusters:
        status = handle.status(cluster)
        out[cluster] = (status.get("requests", 0), status.get("writes", 0), status.get("dry_runs", 0))
    return out
