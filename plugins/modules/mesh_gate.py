#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_gate
short_description: The health gate after a batch of a rolling operation - the change in use, then the mesh check over every cluster
version_added: 0.1.0
description:
  - After a batch of clusters changed (an upgrade, a CA rotation step), waits until the change is in use on the clusters of
    O(batch), then until the multicluster mesh check passes over every cluster of O(clusters), and says per cluster of the
    batch why the gate failed when it does.
  - The change is in use when the versions of O(expect) run (as M(meshops.ambient_spire.mesh_versions_info) evaluates them;
    every istiod, ztunnel and istio-cni pod at the Istio version and Ready, each rollout complete, each Helm release deployed
    at its chart version). Without O(expect) for the batch that stage is skipped.
  - The mesh check is that of M(meshops.ambient_spire.mesh_check) (the same reads and checks), run again up to
    O(check_retries) times while it does not pass (peers reconnect a little after a restart).
  - Never writes anything, to the clusters or to files; never fails on a closed gate (RV(passed) says it), only on bad input.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - meshops.ambient_spire._mesh_read
  - meshops.ambient_spire._mesh_read.clusters
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only; the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  batch:
    description: Names (O(clusters[].name)) of the clusters the gate is about, the batch that just changed.
    type: list
    elements: str
    required: true
  expect:
    description:
      - Per cluster name of the batch, the versions that must be in use, C(istio) (an Istio version) and C(releases)
        (C(<namespace>/<release>) to a chart version).
    type: dict
    default: {}
  retries:
    description: Further reads while the change is not in use on the batch.
    type: int
    default: 60
  delay:
    description: Seconds between those reads.
    type: int
    default: 5
  check_retries:
    description: Further mesh checks while it does not pass.
    type: int
    default: 6
  check_delay:
    description: Seconds between those mesh checks.
    type: int
    default: 5
  smc_name:
    description: Name of the ServiceMeshController.
    type: str
    default: managed-istio
  releases:
    description: The Helm releases O(expect) may name, each with C(namespace) and C(name) (other keys are ignored).
    type: list
    elements: dict
    default: []
  precheck:
    description: Missing multicluster resources and peers are warnings (see M(meshops.ambient_spire.mesh_check)).
    type: bool
    default: false
  flat_network:
    description: Clusters may share a network.
    type: bool
    default: false
  root_ca_bundle:
    description: PEM file with the shared root CA.
    type: path
  warning_days:
    description: Warn when a CA certificate expires within this many days.
    type: int
    default: 90
  checks:
    description: Run only these checks.
    type: list
    elements: str
  skip_checks:
    description: Check ids not to run.
    type: list
    elements: str
seealso:
  - module: meshops.ambient_spire.mesh_check
  - module: meshops.ambient_spire.mesh_versions_info
'''

EXAMPLES = r'''
- name: Gate after the canary - Istio 1.26.2 in use on cluster1, then the mesh check over every cluster
  meshops.ambient_spire.mesh_gate:
    clusters: "{{ hostvars | meshops.ambient_spire.mesh_check_clusters(ansible_play_hosts_all) }}"
    batch: [cluster1]
    expect:
      cluster1: {istio: 1.26.2}
    retries: 60
    delay: 5
  register: gate
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
passed:
  description: The change is in use on every cluster of the batch and the mesh check passed.
  returned: always
  type: bool
failures:
  description: Per cluster of the batch that failed, C(stage) (C(in use) or C(mesh check)) and C(reason) (one line).
  returned: always
  type: dict
  sample: {cluster1: {stage: in use, reason: "istiod: 0/1 pods at 1.27.1 Ready (istiod-gloo-1 (CrashLoopBackOff: ...))"}}
in_use:
  description: Per cluster of the batch, what kept the change from being in use at the last read (empty lists when in use).
  returned: always
  type: dict
summary:
  description: The summary of the last mesh check (see M(meshops.ambient_spire.mesh_check)); null when it did not run.
  returned: always
  type: dict
errors:
  description: The error findings of the last mesh check.
  returned: always
  type: list
  elements: dict
report_lines:
  description: The istioctl-like report of the last mesh check.
  returned: always
  type: list
  elements: str
attempts:
  description: Reads of the versions (C(in_use)) and mesh checks (C(mesh_check)) made.
  returned: always
  type: dict
clusters:
  description:
    - One entry per cluster of the last mesh check, in the order given; C(name), C(attempts), and C(summary) for a cluster that
      was read, C(failed) and C(msg) for one that could not be (see M(meshops.ambient_spire.mesh_check)). Empty when the mesh
      check did not run.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import (
    CHECK_IDS,
    index_snapshots,
    run_checks,
    summarize,
    unread_findings,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._gate import run_gate
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import (
    HAS_K8S_CORE,
    HAS_KUBERNETES,
    K8S_CORE_IMPORT_ERROR,
    KUBERNETES_IMPORT_ERROR,
    K8sAuthModule,
    create_api_client,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import for_each_cluster
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_read import (
    clusters_problem,
    clusters_spec,
    read_clusters,
    read_options_spec,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_versions import in_use_problems, read_versions
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _report


def argument_spec():
    spec = read_options_spec()
    spec.update(clusters_spec())
    spec.update({
        "batch": {"type": "list", "elements": "str", "required": True},
        "expect": {"type": "dict", "default": {}},
        "retries": {"type": "int", "default": 60},
        "delay": {"type": "int", "default": 5},
        "check_retries": {"type": "int", "default": 6},
        "check_delay": {"type": "int", "default": 5},
        "smc_name": {"type": "str", "default": "managed-istio"},
        "releases": {"type": "list", "elements": "dict", "default": []},
        "precheck": {"type": "bool", "default": False},
        "flat_network": {"type": "bool", "default": False},
        "root_ca_bundle": {"type": "path"},
        "warning_days": {"type": "int", "default": 90},
        "checks": {"type": "list", "elements": "str"},
        "skip_checks": {"type": "list", "elements": "str"},
    })
    return spec


def in_use_reader(params, by_name):
    """read_in_use() of run_gate: the batch's clusters read in parallel, their problems per name (a read error is one)."""
    batch = [name for name in params["batch"] if params["expect"].get(name)]

    def read_one(name):
        cluster = by_name[name]
        return read_versions(create_api_client(cluster), cluster_name=cluster.get("cluster_name") or name, context=cluster.get("context"),
                             istio_namespace=params["istio_namespace"], spire_namespace=params["spire_namespace"],
                             smc_name=params["smc_name"], releases=params["releases"], timeout=params["request_timeout"])

    def read_in_use():
        outcome = for_each_cluster(batch, read_one, attempts=params["attempts"], delay=params["attempt_delay"])
        result = {}
        for name in batch:
            done = outcome[name]
            result[name] = ["not read: %s" % done["error"]] if "error" in done else in_use_problems(done["result"], params["expect"][name])
        return result
    return read_in_use


def mesh_checker(params, options):
    """check_mesh() of run_gate: every cluster read, the checks evaluated, as mesh_check does."""
    names = dict((c["name"], c.get("cluster_name") or c["name"]) for c in params["clusters"])

    def check_mesh():
        entries = read_clusters(params)
        check_mesh.entries = entries
        snapshots = [entry.pop("snapshot") for entry in entries if "snapshot" in entry]
        unread = [(names[entry["name"]], entry["msg"]) for entry in entries if entry.get("failed")]
        indexed = index_snapshots(snapshots)
        findings = unread_findings(unread) + run_checks(indexed, options, only=params["checks"], skip=params["skip_checks"])
        return findings, summarize(findings, indexed, [name for name, dummy in unread])
    check_mesh.entries = []
    return check_mesh


def main():
    module = K8sAuthModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    unknown = sorted(set((params["checks"] or []) + (params["skip_checks"] or [])) - set(CHECK_IDS))
    if unknown:
        module.fail_json(msg="unknown check ids %s; valid: %s" % (", ".join(unknown), ", ".join(CHECK_IDS)))
    if not params["clusters"]:
        module.fail_json(msg="clusters: no cluster given")
    problem = clusters_problem(params["clusters"])
    if problem:
        module.fail_json(msg=problem)
    if any(not (release.get("namespace") and release.get("name")) for release in params["releases"]):
        module.fail_json(msg="releases: every release needs a namespace and a name")
    by_name = dict((cluster["name"], cluster) for cluster in params["clusters"])
    strangers = [name for name in params["batch"] if name not in by_name]
    if strangers:
        module.fail_json(msg="batch: %s not in clusters" % ", ".join(strangers))
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_K8S_CORE:
        module.fail_json(msg="the kubernetes.core collection is required", exception=K8S_CORE_IMPORT_ERROR)
    options = {"precheck": params["precheck"], "flat_network": params["flat_network"], "warning_days": params["warning_days"]}
    if params["root_ca_bundle"]:
        try:
            with open(params["root_ca_bundle"]) as handle:
                options["root_ca_pem"] = handle.read()
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read root_ca_bundle %s: %s" % (params["root_ca_bundle"], exc))
    check_mesh = mesh_checker(params, options)
    outcome = run_gate(params["batch"], params["expect"], in_use_reader(params, by_name), check_mesh,
                       params["retries"], params["delay"], params["check_retries"], params["check_delay"])
    findings = outcome["findings"] or []
    summary = outcome["summary"]
    module.exit_json(changed=False, passed=outcome["passed"], failures=outcome["failures"], in_use=outcome["in_use"], summary=summary,
                     errors=[f for f in findings if f.get("level") == "error"], attempts=outcome["attempts"], clusters=check_mesh.entries,
                     report_lines=_report.text_lines(findings, summary, verbose=False) if summary is not None else [])


if __name__ == "__main__":
    main()
