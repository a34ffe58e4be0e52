#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_check
short_description: Evaluate the multicluster ambient + SPIRE mesh checks over the snapshots of all clusters
version_added: 0.1.0
description:
  - Runs once over the snapshots of every cluster and evaluates each check as a pure function of the snapshots, like
    C(istioctl multicluster check) and beyond it.
  - The snapshots are read by this module from O(clusters) (one run reads and evaluates the whole mesh, the clusters in
    parallel; this is how the C(mesh_check) role works), or are given as the results of M(meshops.ambient_spire.mesh_snapshot)
    in O(snapshots) or O(snapshot_files). Exactly one of O(clusters), O(snapshots) and O(snapshot_files) is required.
  - With O(clusters), a cluster that cannot be read is reported in RV(clusters) and left out of the evaluation; the task fails
    only when no cluster could be read.
  - The checks are, in order, incompatible environment variables (C(ENABLE_PEERING_DISCOVERY), C(K8S_SELECT_WORKLOAD_ENTRIES),
    C(PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES)); license; pod health of istiod, ztunnel and the east-west gateway; east-west
    gateway programmed with addresses; remote peers connected (C(gloo.solo.io/PeerConnected) and C(gloo.solo.io/PeeringSucceeded));
    intermediate certificate compatibility; network configuration; stale autogenflat WorkloadEntries; SPIRE upstream CA;
    SPIRE delegates and trust domains; ClusterSPIFFEIDs reconciled; cluster, network and trust domain names.
  - Returns the findings (check, cluster, level C(ok)/C(info)/C(warning)/C(error), message, hint) and a summary, the
    istioctl-like report lines, and writes JSON, JUnit XML, HTML (with a topology picture) and text reports to O(reports_dir).
  - Fails when any check reports an error, unless O(fail_on_error=false).
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - meshops.ambient_spire._mesh_read
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the clusters are read and the checks run, but no report file is written.
      - The module never writes to the clusters.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  snapshots:
    description:
      - The RV(meshops.ambient_spire.mesh_snapshot#module:snapshot) of every cluster, one per cluster.
    type: list
    elements: dict
  snapshot_files:
    description:
      - JSON files written by M(meshops.ambient_spire.mesh_snapshot) with O(meshops.ambient_spire.mesh_snapshot#module:snapshot_file),
        one per cluster, on the host that runs this module (the controller with C(delegate_to=localhost)).
      - Much faster than O(snapshots) for large clusters; O(clusters) is faster still (no file, no second module run).
    type: list
    elements: path
  remove_snapshot_files:
    description:
      - After reading O(snapshot_files), remove them, and then each of their directories that is left empty.
      - For scratch files only (for example a temporary directory the play made for the snapshots); done in check mode too,
        since the files are the module's own input on the controller, not managed state.
    type: bool
    default: false
  precheck:
    description:
      - Before linking, missing multicluster resources (east-west gateway, peers, remote gateways) are warnings, not failures;
        the peers check never fails.
    type: bool
    default: false
  flat_network:
    description: Clusters may share a network (flat networking is declared); otherwise duplicate networks fail.
    type: bool
    default: false
  root_ca_bundle:
    description:
      - PEM file with the shared root CA (for example C(<pki_dir>/root-ca-bundle.pem)). The SPIRE upstream CAs must chain to it.
      - Without it, the root most clusters' C(cacerts) carry is taken as the shared root.
    type: path
  warning_days:
    description: Warn when a CA certificate expires within this many days.
    type: int
    default: 90
  checks:
    description: Run only these checks (ids such as C(env_vars), C(peers), C(spire_upstream_ca)); default all.
    type: list
    elements: str
  skip_checks:
    description: Check ids not to run.
    type: list
    elements: str
  verbose:
    description: Whether RV(report_lines) holds the verbose report (sections, details and troubleshooting hints).
    type: bool
    default: false
  reports_dir:
    description: Directory to write the reports to (created 0755 when missing); no file is written when unset.
    type: path
  report_formats:
    description: Report files to write to O(reports_dir).
    type: list
    elements: str
    choices: [json, junit, html, text]
    default: [json, junit, html, text]
  report_basename:
    description: Base name of the report files (C(<basename>.json), C(.junit.xml), C(.html), C(.txt)).
    type: str
    default: mesh-check
  fail_on_error:
    description: Fail the task when a check reports an error. The result (findings, report lines) is returned either way.
    type: bool
    default: true
seealso:
  - module: meshops.ambient_spire.mesh_snapshot
  - name: istioctl multicluster check
    description: The Solo istioctl command whose checks this module reproduces.
    link: https://docs.solo.io/gloo-mesh/latest/troubleshooting/service-mesh/multicluster/
'''

EXAMPLES = r'''
- name: Read every cluster and evaluate the checks, in one run
  meshops.ambient_spire.mesh_check:
    clusters:
      - name: cluster1
        kubeconfig: ~/.kube/config
        context: cluster1
        expected_network: cluster1
      - name: cluster2
        kubeconfig: ~/.kube/config
        context: cluster2
        expected_network: cluster2
    attempts: 3
    reports_dir: "{{ playbook_dir }}/../reports"
  run_once: true
  delegate_to: localhost

- name: Evaluate the checks once over all clusters' snapshots
  meshops.ambient_spire.mesh_check:
    snapshots: "{{ ansible_play_hosts | map('extract', hostvars, ['mesh_check_snapshot', 'snapshot']) | list }}"
    flat_network: "{{ mesh_flat_network | default(false) }}"
    reports_dir: "{{ playbook_dir }}/../reports"
    verbose: true
  run_once: true
  delegate_to: localhost

- name: Evaluate the snapshots written to files by mesh_snapshot (snapshot_file)
  meshops.ambient_spire.mesh_check:
    snapshot_files: "{{ ansible_play_hosts | map('extract', hostvars, ['mesh_check_snapshot', 'snapshot_file']) | list }}"
    reports_dir: "{{ playbook_dir }}/../reports"
  run_once: true
  delegate_to: localhost

- name: Precheck before linking, never failing on missing peers
  meshops.ambient_spire.mesh_check:
    snapshots: "{{ my_snapshots }}"
    precheck: true
    fail_on_error: false
  register: mesh_precheck
'''

RETURN = r'''
findings:
  description: Every finding, in report order.
  returned: always
  type: list
  elements: dict
  sample:
    - check: peers
      cluster: cluster1
      level: error
      message: "peer cluster2 (network cluster2, gateway istio-eastwest/istio-remote-peer-cluster2) is not connected: ..."
      hint: "A peer that is not connected points to ..."
summary:
  description: Status per check and cluster, counts per level, the failed and warning check ids, and the verdict.
  returned: always
  type: dict
  contains:
    passed:
      description: No check reported an error.
      type: bool
    failed_checks:
      description: Ids of the checks with an error.
      type: list
      elements: str
    warning_checks:
      description: Ids of the checks with warnings only.
      type: list
      elements: str
    counts:
      description: Number of findings per level.
      type: dict
    checks:
      description: Per check id, title, worst status, and status per cluster.
      type: list
      elements: dict
    clusters:
      description: The cluster names.
      type: list
      elements: str
report_lines:
  description: The istioctl-like text report, one line per item (C(=== Cluster <name> ===) sections, ✅ ⚠️ ❌ ℹ).
  returned: always
  type: list
  elements: str
clusters:
  description:
    - With O(clusters), one entry per cluster, in the order given. A cluster that was read has RV(clusters[].summary) (and
      RV(clusters[].snapshot_file) when it was written to one); one that could not be read has RV(clusters[].failed) and
      RV(clusters[].msg), and is not in the evaluation.
  returned: when O(clusters) is set
  type: list
  elements: dict
  contains:
    name:
      description: O(clusters[].name).
      type: str
    summary:
      description: Cluster name, API requests made, resources not found, and seconds taken by the reads.
      type: dict
    snapshot_file:
      description: The file the snapshot was written to, when O(clusters[].snapshot_file) is set.
      type: str
    failed:
      description: True when the cluster could not be read.
      type: bool
    msg:
      description: Why the cluster could not be read (it names the cluster).
      type: str
    attempts:
      description: Attempts made on this cluster.
      type: int
  sample:
    - {name: cluster1, attempts: 1, summary: {cluster: cluster1, requests: 12, missing: [], seconds: 0.21}}
    - {name: cluster2, failed: true, attempts: 3,
       msg: "cluster cluster2: GET /api/v1/namespaces failed: 503 Service Unavailable"}
report_files:
  description: Paths of the report files written.
  returned: when O(reports_dir) is set and not in check mode
  type: dict
  sample: {json: reports/mesh-check.json, junit: reports/mesh-check.junit.xml}
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import CHECK_IDS, index_snapshots, run_checks, summarize
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_read import (
    clusters_problem,
    read_argument_spec,
    read_clusters,
    sensitive_cluster_values,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _report

EXTENSIONS = {"json": ".json", "junit": ".junit.xml", "html": ".html", "text": ".txt"}


def write_reports(module, findings, summary, snapshots, lines_verbose):
    params = module.params
    directory = params["reports_dir"]
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    files = {}
    for fmt in params["report_formats"]:
        if fmt == "json":
            content = _report.to_json(findings, summary)
        elif fmt == "junit":
            content = _report.to_junit(findings, summary)
        elif fmt == "html":
            content = _report.to_html(findings, summary, snapshots)
        else:
            content = "\n".join(lines_verbose) + "\n"
        path = os.path.join(directory, params["report_basename"] + EXTENSIONS[fmt])
        tmp = path + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
        files[fmt] = path
    return files


def read_snapshot_files(paths):
    """The snapshots in the JSON files; ValueError naming the file when one cannot be read or is not a snapshot."""
    snapshots = []
    for path in paths:
        try:
            with open(path) as handle:
                snapshot = json.load(handle)
        except (IOError, OSError) as exc:
            raise ValueError("cannot read snapshot file %s: %s" % (path, exc))
        except ValueError as exc:
            raise ValueError("snapshot file %s is not valid JSON: %s" % (path, exc))
        if not isinstance(snapshot, dict):
            raise ValueError("snapshot file %s does not hold a snapshot (a JSON object)" % path)
        snapshots.append(snapshot)
    return snapshots


def remove_snapshot_files(paths):
    """Remove the snapshot files, then their directories when empty (best effort: scratch space)."""
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass
    for directory in sorted(set(os.path.dirname(os.path.abspath(p)) for p in paths)):
        try:
            os.rmdir(directory)
        except OSError:  # not empty (or gone): leave it
            pass


def read_mesh(module):
    """O(clusters): the snapshots of the clusters that could be read, and one entry per cluster (without its snapshot)."""
    clusters = module.params["clusters"]
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    problem = clusters_problem(clusters)
    if problem:
        module.fail_json(msg=problem)
    module.no_log_values.update(sensitive_cluster_values(clusters))
    entries = read_clusters(module.params)
    snapshots = [entry.pop("snapshot") for entry in entries if "snapshot" in entry]
    if not snapshots:
        module.fail_json(msg="no cluster could be read: %s" % "; ".join(entry["msg"] for entry in entries), clusters=entries)
    return snapshots, entries


def main():
    argument_spec = read_argument_spec()
    argument_spec.update({
        "snapshots": {"type": "list", "elements": "dict"},
        "snapshot_files": {"type": "list", "elements": "path"},
        "remove_snapshot_files": {"type": "bool", "default": False},
        "precheck": {"type": "bool", "default": False},
        "flat_network": {"type": "bool", "default": False},
        "root_ca_bundle": {"type": "path"},
        "warning_days": {"type": "int", "default": 90},
        "checks": {"type": "list", "elements": "str"},
        "skip_checks": {"type": "list", "elements": "str"},
        "verbose": {"type": "bool", "default": False},
        "reports_dir": {"type": "path"},
        "report_formats": {"type": "list", "elements": "str", "choices": ["json", "junit", "html", "text"],
                           "default": ["json", "junit", "html", "text"]},
        "report_basename": {"type": "str", "default": "mesh-check"},
        "fail_on_error": {"type": "bool", "default": True},
    })
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("clusters", "snapshots", "snapshot_files")],
        required_one_of=[("clusters", "snapshots", "snapshot_files")],
        supports_check_mode=True,
    )
    params = module.params
    unknown = sorted(set((params["checks"] or []) + (params["skip_checks"] or [])) - set(CHECK_IDS))
    if unknown:
        module.fail_json(msg="unknown check ids %s; valid: %s" % (", ".join(unknown), ", ".join(CHECK_IDS)))
    cluster_entries = None
    if params["clusters"] is not None:
        given, cluster_entries = read_mesh(module)
    else:
        try:
            given = params["snapshots"] if params["snapshots"] is not None else read_snapshot_files(params["snapshot_files"])
        except ValueError as exc:
            module.fail_json(msg=str(exc))
        finally:
            if params["snapshot_files"] and params["remove_snapshot_files"]:
                remove_snapshot_files(params["snapshot_files"])
    try:
        snapshots = index_snapshots([s for s in given if s])
    except ValueError as exc:
        module.fail_json(msg="invalid snapshots: %s" % exc)
    if not snapshots:
        module.fail_json(msg="no snapshots given")
    options = {"precheck": params["precheck"], "flat_network": params["flat_network"], "warning_days": params["warning_days"]}
    if params["root_ca_bundle"]:
        try:
            with open(params["root_ca_bundle"]) as handle:
                options["root_ca_pem"] = handle.read()
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read root_ca_bundle %s: %s" % (params["root_ca_bundle"], exc))
    findings = run_checks(snapshots, options, only=params["checks"], skip=params["skip_checks"])
    summary = summarize(findings, snapshots)
    summary["precheck"] = params["precheck"]
    lines_verbose = _report.text_lines(findings, summary, verbose=True)
    lines = lines_verbose if params["verbose"] else _report.text_lines(findings, summary, verbose=False)
    result = {"changed": False, "findings": findings, "summary": summary, "report_lines": lines}
    if cluster_entries is not None:
        result["clusters"] = cluster_entries
    if params["reports_dir"] and not module.check_mode:
        try:
            result["report_files"] = write_reports(module, findings, summary, snapshots, lines_verbose)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot write reports to %s: %s" % (params["reports_dir"], exc), **result)
    if summary["failed_checks"] and params["fail_on_error"]:
        module.fail_json(msg="multicluster check found issues: %s" % ", ".join(summary["failed_checks"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
