# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ordered list of mesh checks and their evaluation. PRIVATE to the collection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import traceback

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import finding, worst
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.control_plane import (
    check_env_vars,
    check_license,
    check_pods_eastwest,
    check_pods_istiod,
    check_pods_ztunnel,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.gateways import check_gateways, check_peers
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.certs import check_intermediate_certs
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.network import check_network, check_stale_workloads
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.spire import (
    check_cluster_spiffe_ids,
    check_spire_components,
    check_spire_trust_domain,
    check_spire_upstream_ca,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.naming import check_naming

# (id, title, function); the order of the report
CHECKS = (
    ("env_vars", "Incompatible Environment Variable Check", check_env_vars),
    ("license", "License Check", check_license),
    ("pods_istiod", "Pod Check (istiod)", check_pods_istiod),
    ("pods_ztunnel", "Pod Check (ztunnel)", check_pods_ztunnel),
    ("pods_eastwest", "Pod Check (eastwest gateway)", check_pods_eastwest),
    ("gateways", "Gateway Check", check_gateways),
    ("peers", "Peers Check", check_peers),
    ("intermediate_certs", "Intermediate Certs Compatibility Check", check_intermediate_certs),
    ("network", "Network Configuration Check", check_network),
    ("stale_workloads", "Stale Workloads Check", check_stale_workloads),
    ("spire_components", "SPIRE Components Check", check_spire_components),
    ("spire_upstream_ca", "SPIRE Upstream CA Check", check_spire_upstream_ca),
    ("spire_trust_domain", "SPIRE Trust Domain Check", check_spire_trust_domain),
    ("cluster_spiffe_ids", "ClusterSPIFFEID Check", check_cluster_spiffe_ids),
    ("naming", "Naming Check", check_naming),
)
CHECK_IDS = tuple(cid for cid, dummy, dummy2 in CHECKS)
# Not a check of a snapshot: a cluster that could not be read has an error of this id, first in the report, so that no
# output calls a mesh checked that was not (the checks ran without that cluster).
READ_ID = "cluster_read"
READ_HINT = ("The cluster was not checked. Check its connection (kubeconfig, context, credentials) and that its API server answers "
             "(`kubectl get ns --context <ctx>`), then run the mesh check again.")
REPORTED = ((READ_ID, "Cluster Read Check", None),) + CHECKS
TITLES = dict((cid, title) for cid, title, dummy in REPORTED)


def index_snapshots(snapshots):
    """A list of snapshots (or a dict) -> ordered dict cluster name -> snapshot."""
    if isinstance(snapshots, dict) and "cluster" not in snapshots:
        items = list(snapshots.items())
    else:
        items = [((s or {}).get("cluster"), s) for s in (snapshots if isinstance(snapshots, list) else [snapshots])]
    result = {}
    for name, snap in items:
        if name is None:
            raise ValueError("a snapshot has no cluster name")
        if name in result:
            raise ValueError("two snapshots for cluster %s" % name)
        result[name] = snap
    return result


def run_checks(snapshots, options=None, only=None, skip=None):
    """Evaluate every check; an exception in one check becomes an error finding of that check."""
    snaps = index_snapshots(snapshots)
    findings = []
    for cid, title, func in CHECKS:
        if (only and cid not in only) or (skip and cid in skip):
            continue
        try:
            findings.extend(func(snaps, options or {}))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            findings.append(finding(cid, None, "error", "internal error while evaluating %s: %s" % (title, exc),
                                    "Please report this; traceback: %s" % traceback.format_exc(limit=3)))
    return findings


def unread_findings(unread):
    """An error finding per cluster that could not be read: unread is [(cluster name, why)]."""
    return [finding(READ_ID, cluster, "error", "not checked: %s" % why, READ_HINT) for cluster, why in unread]


def summarize(findings, clusters, unread=(), reported=REPORTED):
    """Per check and cluster status, counts, and the overall verdict.

    clusters are the names of the clusters checked, unread those of the clusters that could not be read (their findings come
    from unread_findings): the mesh passes only when every cluster was read and no check found an error. reported: the checks
    in report order (another set of checks, such as the preflight's, passes its own).
    """
    unread = list(unread)
    checks = []
    for cid, title, dummy in reported:
        own = [f for f in findings if f["check"] == cid]
        if not own:
            continue
        per_cluster = {}
        for f in own:
            key = f["cluster"] or "mesh"
            per_cluster[key] = worst([per_cluster.get(key, "ok"), f["level"]])
        checks.append({"id": cid, "title": title, "status": worst(per_cluster.values()), "clusters": per_cluster})
    counts = dict((level, 0) for level in ("ok", "info", "warning", "error"))
    for f in findings:
        counts[f["level"]] = counts.get(f["level"], 0) + 1
    failed = [c["id"] for c in checks if c["status"] == "error"]
    warned = [c["id"] for c in checks if c["status"] == "warning"]
    return {"clusters": list(clusters) + [c for c in unread if c not in clusters], "unread_clusters": unread, "checks": checks,
            "counts": counts, "failed_checks": failed, "warning_checks": warned, "passed": not failed and not unread}
