"""One converged 3-cluster mesh for the day-2 tests (the watch, then the upgrades, chained on it), with per-version copies of
the stand-in charts so that a chart version in the inventory selects a chart of that version."""

import json
import os
import shutil
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "roles"))

from install_helpers import ROOT, counters, run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position

CLUSTERS = ["c1", "c2", "c3"]
ISTIO = "1.25.5-patch1"
CHARTS = {"spire": ("0.24.2", "0.24.3"), "spire-crds": ("0.5.0",), "gloo-operator": ("0.4.3", "0.4.4")}


class Day2Mesh:
    def __init__(self, handle):
        self.handle = handle
        charts = os.path.join(handle.base_dir, "charts")
        for name, versions in CHARTS.items():
            for version in versions:
                target = os.path.join(charts, "%s-%s" % (name, version))
                shutil.copytree(os.path.join(ROOT, "tests", "charts", name), target)
                path = os.path.join(target, "Chart.yaml")
                with open(path) as handle_:
                    meta = yaml.safe_load(handle_)
                meta["version"] = version
                with open(path, "w") as handle_:
                    yaml.safe_dump(meta, handle_)
        self.reports = os.path.join(handle.base_dir, "reports")
        self.history = os.path.join(handle.base_dir, "watch")
        self.inventory = write_inventory(handle, extra={
            "mesh_istio_version": ISTIO,
            "spire_chart_ref": os.path.join(charts, "spire-{{ spire_chart_version }}"),
            "spire_crds_chart_ref": os.path.join(charts, "spire-crds-{{ spire_crds_chart_version }}"),
            "gloo_operator_chart_ref": os.path.join(charts, "gloo-operator-{{ gloo_operator_chart_version }}"),
            "mesh_api_retry_delay": 1,
            "mesh_check_reports_dir": self.reports,
            "mesh_watch_reports_dir": self.reports,
            "mesh_watch_history_dir": self.history,
            # generous for a loaded machine; a closed gate is asserted with fewer retries where it must close
            "upgrade_gate_retries": 30,
            "upgrade_gate_delay": 2,
            "upgrade_gate_check_retries": 10,
            "upgrade_gate_check_delay": 2,
        })

    def run(self, playbook, extra=None, args=(), env=None):
        """ansible-playbook playbooks/<playbook> -e <extra as JSON>; (CompletedProcess, seconds, recap)."""
        more = list(args) + (["-e", json.dumps(extra)] if extra else [])
        return run_playbook(self.handle, playbook, args=more, inventory=self.inventory, env=env)

    def writes(self):
        return dict((cluster, counts[1]) for cluster, counts in counters(self.handle).items())

    def kubectl_json(self, cluster, *args):
        return json.loads(self.handle.kubectl("get", "-o", "json", *args, context=cluster).stdout)

    def fault(self, cluster, **faults):
        self.handle.admin(cluster, "POST", "/_emulator/mesh/faults", faults)

    def clear(self, cluster):
        self.handle.admin(cluster, "DELETE", "/_emulator/mesh/faults")


@pytest.fixture(scope="module")
def day2_mesh(emulator_factory):
    """The converged mesh of c1, c2, c3 (site.yml), one per test module: the upgrade tests leave it on other versions, which
    the mesh watch would see as drift (the integration stage runs a module's tests in order, modules in any order)."""
    # Kubernetes 1.32: in the range of every Istio minor the tests go through (1.25 to 1.27), which the preflight of site.yml checks
    mesh = Day2Mesh(emulator_factory(CLUSTERS, kubernetes_version="1.32"))
    proc, elapsed, recap = mesh.run("site.yml")
    print("\nfigures: site.yml on 3 clusters: %.0f s" % elapsed)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert all(recap[c]["failed"] == 0 for c in CLUSTERS), recap
    return mesh
