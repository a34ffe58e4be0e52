#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_check
short_description: Read every cluster of an ambient + SPIRE mesh and evaluate the multicluster checks
version_added: 0.1.0
description:
  - Reads a compact, read-only snapshot of every cluster of O(clusters) (in parallel, about 17 API requests per cluster,
    independent of object counts), then evaluates each check once as a pure function of all snapshots, like
    C(istioctl multicluster check) and beyond it. One run reads and evaluates the whole mesh; this is how the C(mesh_check)
    role works.
  - A cluster that cannot be read is reported in RV(clusters) and left out of the evaluation, and the verdict says that the mesh
    was not fully checked (RV(summary.passed) is false, RV(summary.unread_clusters) names the cluster, and every report has a
    C(cluster_read) error for it). The task fails when no cluster could be read.
  - The checks are, in order, incompatible environment variables (C(ENABLE_PEERING_DISCOVERY), C(K8S_SELECT_WORKLOAD_ENTRIES),
    C(PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES)); license; pod health of istiod, ztunnel and the east-west gateway; east-west
    gateway programmed with addresses; remote peers connected (C(gloo.solo.io/PeerConnected) and C(gloo.solo.io/PeeringSucceeded));
    intermediate certificate compatibility; network configuration; stale autogenflat WorkloadEntries; SPIRE upstream CA;
    SPIRE delegates and trust domains; ClusterSPIFFEIDs reconciled; cluster, network and trust domain names.
  - Returns the findings (check, cluster, level C(ok)/C(info)/C(warning)/C(error), message, hint) and a summary, the
    istioctl-like report lines, and writes JSON, JUnit XML, HTML (with a topology picture) and text reports to O(reports_dir).
  - Never writes to a cluster; no secret material (keys, tokens, the license) leaves the reads.
  - Fails when any check reports an error, unless O(fail_on_error=false).
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - meshops.ambient_spire._mesh_read
  - meshops.ambient_spire._mesh_read.clusters
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the clusters are read and the checks run, no file is written, and RV(changed) says whether a report file
        would change.
      - The module never writes to the clusters.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
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
    description:
      - Directory to write the reports to (created 0755 when missing); no file is written when unset.
      - A report file is replaced only when its content changes (RV(changed) is then true).
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
  trend:
    description:
      - Records of earlier runs (oldest first), as the mesh watch keeps them (M(meshops.ambient_spire.mesh_watch_history));
        the HTML report then shows the trend of these runs and of this one (errors, warnings, drifted objects, verdict).
      - Only the times, verdicts and counts of the records are used.
    type: list
    elements: dict
  drift:
    description:
      - The objects a converge would change (C(cluster), C(kind), C(namespace), C(name), C(action), C(fields)), as the filter
        P(meshops.ambient_spire.drifted_objects#filter) lists them; shown in the HTML report with O(trend), and counted in
        this run's point of the trend.
    type: list
    elements: dict
requirements:
  - PyYAML
  - kubernetes >= 24.2.0 (Python library), for connections other than a kubeconfig with a token or a client certificate
seealso:
  - module: meshops.ambient_spire.mesh_snapshot_info
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
    reports_dir: "{{ inventory_dir }}/reports"
  run_once: true
  delegate_to: localhost

- name: Precheck before linking, never failing on missing peers
  meshops.ambient_spire.mesh_check:
    clusters: "{{ my_clusters }}"
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
changed:
  description: Whether a report file was (in check mode, would be) written with a new content.
  returned: always
  type: bool
summary:
  description: Status per check and cluster, counts per level, the failed and warning check ids, and the verdict.
  returned: always
  type: dict
  contains:
    passed:
      description: Every cluster was read and no check reported an error.
      type: bool
    unread_clusters:
      description: The clusters that could not be read, so were not checked (each has a C(cluster_read) error).
      type: list
      elements: str
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
      description: The cluster names, those not read included.
      type: list
      elements: str
report_lines:
  description: The istioctl-like text report, one line per item (C(=== Cluster <name> ===) sections, ✅ ⚠️ ❌ ℹ).
  returned: always
  type: list
  elements: str
clusters:
  description:
    - One entry per cluster, in the order given. A cluster that was read has RV(clusters[].summary); one that could not be
      read has RV(clusters[].failed) and RV(clusters[].msg), and is not in the evaluation.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: O(clusters[].name).
      type: str
    summary:
      description: Cluster name, API requests made, resources not found, and seconds taken by the reads.
      type: dict
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
  description: Paths of the report files (written by this run, or already up to date).
  returned: when O(reports_dir) is set and not in check mode
  type: dict
  sample: {json: reports/mesh-check.json, junit: reports/mesh-check.junit.xml}
'''


from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import (
    CHECK_IDS,
    index_snapshots,
    run_checks,
    summarize,
    unread_findings,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import K8sAuthModule
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_read import (
    clusters_problem,
    clusters_spec,
    read_clusters,
    read_options_spec,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._module_run import ModuleFailure, run_as_module
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _report
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _watch_history


def trend_points(records, summary, drift):
    """The trend of the HTML report: the points of the earlier records, then this run's."""
    points = [_watch_history.trend_point(record) for record in records or [] if isinstance(record, dict)]
    counts = summary.get("counts") or {}
    points.append({"time": "this run", "passed": bool(summary.get("passed")), "errors": int(counts.get("error", 0)),
                   "warnings": int(counts.get("warning", 0)), "drifted": len(drift or []),
                   "clean": bool(summary.get("passed")) and not drift})
    return points


def render_reports(formats, findings, summary, snapshots, lines_verbose, trend=None, drift=None):
    """{format: content} of the report files; ``trend`` (points, oldest first) and ``drift`` go to the HTML report."""
    contents = {}
    for fmt in formats:
        if fmt == "json":
            contents[fmt] = _report.to_json(findings, summary)
        elif fmt == "junit":
            contents[fmt] = _report.to_junit(findings, summary)
        elif fmt == "html":
            contents[fmt] = _report.to_html(findings, summary, snapshots, trend=trend, drift=drift)
        else:
            contents[fmt] = "\n".join(lines_verbose) + "\n"
    return contents


def read_mesh(params):
    """The snapshots of the clusters read, (cluster name, why) of those that could not be, and one entry per cluster."""
    entries = read_clusters(params)
    snapshots = [entry.pop("snapshot") for entry in entries if "snapshot" in entry]
    if not snapshots:
        raise ModuleFailure("no cluster could be read: %s" % "; ".join(entry["msg"] for entry in entries), clusters=entries)
    names = dict((cluster["name"], cluster.get("cluster_name") or cluster["name"]) for cluster in params["clusters"])
    unread = [(names[entry["name"]], entry["msg"]) for entry in entries if entry.get("failed")]
    return snapshots, unread, entries


def argument_spec():
    spec = read_options_spec()
    spec.update(clusters_spec())
    spec.update({
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
        "trend": {"type": "list", "elements": "dict"},
        "drift": {"type": "list", "elements": "dict"},
    })
    return spec


def execute(params, check_mode=False, warn=None):  # pylint: disable=unused-argument
    unknown = sorted(set((params["checks"] or []) + (params["skip_checks"] or [])) - set(CHECK_IDS))
    if unknown:
        raise ModuleFailure("unknown check ids %s; valid: %s" % (", ".join(unknown), ", ".join(CHECK_IDS)))
    if not params["clusters"]:
        raise ModuleFailure("clusters: no cluster given")
    problem = clusters_problem(params["clusters"])
    if problem:
        raise ModuleFailure(problem)
    options = {"precheck": params["precheck"], "flat_network": params["flat_network"], "warning_days": params["warning_days"]}
    if params["root_ca_bundle"]:
        try:
            with open(params["root_ca_bundle"]) as handle:
                options["root_ca_pem"] = handle.read()
        except (IOError, OSError) as exc:
            raise ModuleFailure("cannot read root_ca_bundle %s: %s" % (params["root_ca_bundle"], exc))
    given, unread, cluster_entries = read_mesh(params)
    try:
        snapshots = index_snapshots(given)
    except ValueError as exc:
        raise ModuleFailure("clusters: %s (give each cluster its own cluster_name and context)" % exc, clusters=cluster_entries)
    findings = unread_findings(unread) + run_checks(snapshots, options, only=params["checks"], skip=params["skip_checks"])
    summary = summarize(findings, snapshots, [name for name, dummy in unread])
    summary["precheck"] = params["precheck"]
    lines_verbose = _report.text_lines(findings, summary, verbose=True)
    lines = lines_verbose if params["verbose"] else _report.text_lines(findings, summary, verbose=False)
    result = {"changed": False, "findings": findings, "summary": summary, "report_lines": lines, "clusters": cluster_entries}
    if params["reports_dir"]:
        trend = trend_points(params["trend"], summary, params["drift"]) if params["trend"] is not None else None
        contents = render_reports(params["report_formats"], findings, summary, snapshots, lines_verbose, trend, params["drift"])
        try:
            files, result["changed"] = _report.write_files(params["reports_dir"], params["report_basename"], contents, check_mode=check_mode)
        except (IOError, OSError) as exc:
            raise ModuleFailure("cannot write reports to %s: %s" % (params["reports_dir"], exc), **result)
        if not check_mode:
            result["report_files"] = files
    if summary["failed_checks"] and params["fail_on_error"]:
        raise ModuleFailure("multicluster check found issues: %s" % ", ".join(summary["failed_checks"]), **result)
    return result


def main():
    # the clusters' secrets are masked from the start, before the argument validation can fail
    run_as_module(K8sAuthModule(argument_spec=argument_spec(), supports_check_mode=True), execute)


if __name__ == "__main__":
    main()
