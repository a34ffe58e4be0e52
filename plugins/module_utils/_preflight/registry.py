# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ordered preflight checks, their evaluation and their report catalog. PRIVATE to the collection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import traceback

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _report
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import finding
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import index_snapshots, summarize as _summarize
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import checks

# (id, title, function); the order of the report. "reachable" comes first; an unread cluster gets its error there.
CHECKS = (
    ("reachable", "Reachability Check", checks.check_reachable),
    ("rbac", "RBAC Check", checks.check_rbac),
    ("kubernetes_version", "Kubernetes Version Check", checks.check_kubernetes_version),
    ("ztunnel_nodes", "Node Check (ztunnel, SPIRE agent)", checks.check_nodes),
    ("storage", "Storage Check (spire-server datastore)", checks.check_storage),
    ("pod_security", "Pod Security Admission Check", checks.check_pod_security),
    ("existing_istiod", "Existing istiod Check", checks.check_existing_istiod),
    ("gateway_api_crds", "Gateway API CRD Check", checks.check_gateway_api_crds),
    ("existing_spire", "Existing SPIRE Check", checks.check_existing_spire),
    ("existing_ca", "Existing CA Check", checks.check_existing_ca),
    ("license", "License Check", checks.check_license),
)
CHECK_IDS = tuple(cid for cid, dummy, dummy2 in CHECKS)
READ_ID = "reachable"
CATALOG = _report.Catalog(CHECKS, READ_ID, "Preflight", "inventory", "All clusters",
                          "Run with verbose output (-v / preflight_verbose: true) to see details and what to fix")


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
    return [finding(READ_ID, cluster, "error", why, checks.READ_HINT) for cluster, why in unread]


def summarize(findings, clusters, unread=()):
    return _summarize(findings, clusters, unread, reported=CHECKS)
