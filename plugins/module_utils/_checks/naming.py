# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check 12: cluster and network names are DNS-1123 labels, trust domains are SPIFFE trust domains. PRIVATE."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import (
    finding,
    mesh_trust_domain,
    namespace_network,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._naming import (
    DNS1123_LABEL_MAX,
    DNS1123_LABEL_PATTERN,
    TRUST_DOMAIN_MAX,
    is_dns1123_label,
    is_trust_domain,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import peer_gateway_name

NAME_HINT = ("Cluster and network names become object names (istio-remote-peer-<cluster>) and SANs: use lowercase DNS-1123 labels "
             "(%s, at most %d characters, no '_'); map kube context names to cluster names explicitly "
             "(kube_context vs mesh_cluster_name)." % (DNS1123_LABEL_PATTERN, DNS1123_LABEL_MAX))
TD_HINT = "SPIFFE trust domains allow only lowercase letters, digits, '.', '-' and '_' (at most %d characters)." % TRUST_DOMAIN_MAX

valid_dns1123_label = is_dns1123_label
valid_trust_domain = is_trust_domain


def check_naming(snapshots, options=None):
    """Check 12: names valid; istiod CLUSTER_ID equals the cluster name."""
    findings = []
    for cluster, snap in snapshots.items():
        bad = 0
        names = [("cluster name", cluster)]
        net = namespace_network(snap) or (snap.get("expected") or {}).get("network")
        if net:
            names.append(("network", net))
        for kind, value in names:
            if not valid_dns1123_label(value):
                bad += 1
                findings.append(finding("naming", cluster, "error", "%s %r is not a valid DNS-1123 label" % (kind, value), NAME_HINT))
        if valid_dns1123_label(cluster) and len(peer_gateway_name(cluster)) > DNS1123_LABEL_MAX:
            findings.append(finding("naming", cluster, "warning",
                                    "peer gateway name %s is longer than %d characters" % (peer_gateway_name(cluster), DNS1123_LABEL_MAX), NAME_HINT))
        tds = set()
        for value in (mesh_trust_domain(snap), (snap.get("expected") or {}).get("trust_domain"),
                      ((snap.get("spire") or {}).get("server") or {}).get("trust_domain"),
                      ((snap.get("spire") or {}).get("agent") or {}).get("trust_domain")):
            if value:
                tds.add(value)
        for value in sorted(tds):
            if not valid_trust_domain(value):
                bad += 1
                findings.append(finding("naming", cluster, "error", "trust domain %r is not a valid SPIFFE trust domain" % value, TD_HINT))
        cluster_ids = sorted(set((d.get("env") or {}).get("CLUSTER_ID") for d in snap.get("istiod_deployments") or []) - {None})
        for cid in cluster_ids:
            if cid == "Kubernetes":
                bad += 1
                findings.append(finding("naming", cluster, "error", "istiod CLUSTER_ID is the default 'Kubernetes'", NAME_HINT))
            elif cid != cluster:
                bad += 1
                findings.append(finding("naming", cluster, "error", "istiod CLUSTER_ID %s differs from the cluster name %s" % (cid, cluster), NAME_HINT))
        if not bad:
            findings.append(finding("naming", cluster, "ok", "cluster name, network and trust domains are valid"))
    return findings
