# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the clusters of a mesh: the read options of mesh_check and mesh_snapshot_info. PRIVATE to the collection.

Documented by the ``meshops.ambient_spire._mesh_read`` doc fragment. With ``clusters``, each cluster connects with its own
auth options (never module-level ones), the clusters are read in parallel threads, and a cluster that cannot be read is
reported, not raised. Nothing is written: no file, and nothing to any cluster.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gc

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import K8sClientError, auth_argument_spec
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_rest import connect
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import for_each_cluster, take_snapshot

SUMMARY_KEYS = ("cluster", "requests", "missing", "seconds")


def read_options_spec():
    """What to read in a cluster (a new dict, to merge into a module's argument_spec)."""
    return {
        "istio_namespace": {"type": "str", "default": "istio-system"},
        "spire_namespace": {"type": "str", "default": "spire-server"},
        "spire_agent_namespace": {"type": "str"},
        "spire_upstream_ca_secret": {"type": "str", "default": "spiffe-upstream-ca", "no_log": False},
        "license_check": {"type": "bool", "default": True},
        "request_timeout": {"type": "int", "default": 30},
    }


def clusters_spec():
    """The clusters, each with its connection (kubernetes.core's auth options), and their retries (a new dict)."""
    cluster_spec = auth_argument_spec()
    cluster_spec.update(
        name={"type": "str", "required": True},
        cluster_name={"type": "str"},
        expected_network={"type": "str"},
        expected_trust_domain={"type": "str"},
    )
    return {
        "clusters": {"type": "list", "elements": "dict", "required": True, "options": cluster_spec},
        "attempts": {"type": "int", "default": 1},
        "attempt_delay": {"type": "int", "default": 3},
    }


def snapshot_options(params, cluster):
    """The take_snapshot keyword arguments for one cluster: what to read from params, who the cluster is from cluster."""
    return dict(
        cluster_name=cluster.get("cluster_name"),
        context=cluster.get("context"),
        istio_namespace=params["istio_namespace"],
        spire_namespace=params["spire_namespace"],
        spire_agent_namespace=params["spire_agent_namespace"],
        upstream_ca_secret=params["spire_upstream_ca_secret"],
        expected_network=cluster.get("expected_network"),
        expected_trust_domain=cluster.get("expected_trust_domain"),
        license_check=params["license_check"],
        timeout=params["request_timeout"],
    )


def snapshot_summary(snapshot):
    return dict((key, snapshot.get(key)) for key in SUMMARY_KEYS)


def read_cluster(params, cluster):
    """One cluster's snapshot. Raises K8sClientError or SnapshotError, each naming the cluster."""
    label = cluster.get("cluster_name") or cluster.get("context") or "(current context)"
    try:
        connection = connect(cluster)
    except K8sClientError as exc:
        raise K8sClientError("cluster %s: %s" % (label, exc))
    return take_snapshot(connection, **snapshot_options(params, cluster))


def clusters_problem(clusters):
    """Why this clusters list cannot be read (names not unique, several clusters without their own context), else None."""
    names = [cluster["name"] for cluster in clusters]
    if len(set(names)) != len(names):
        return "clusters: every name must be unique"
    blind = [cluster["name"] for cluster in clusters if not (cluster.get("context") or cluster.get("host"))]
    if len(clusters) > 1 and blind:
        return ("clusters %s: no context and no host. With several clusters each needs its own (kube_context in the inventory, "
                "or mesh_check_connection), otherwise they would all read the same cluster." % ", ".join(blind))
    return None


def read_clusters(params):
    """Every cluster of params["clusters"], in parallel, each up to params["attempts"] times.

    -> one entry per cluster, in the order given: {name, attempts, summary, snapshot} for a cluster that was read,
    {name, attempts, failed: True, msg} for one that could not be.
    """
    by_name = dict((cluster["name"], cluster) for cluster in params["clusters"])
    # Parsing the LIST responses allocates millions of dicts and lists, none of them in a reference cycle; the cyclic
    # collector would walk them again and again as they pile up (a third of the read time at 10 x 28,000 objects).
    collecting = gc.isenabled()
    gc.disable()
    try:
        outcome = for_each_cluster(by_name, lambda name: read_cluster(params, by_name[name]),
                                   attempts=params["attempts"], delay=params["attempt_delay"])
    finally:
        if collecting:
            gc.enable()
    entries = []
    for cluster in params["clusters"]:
        done = outcome[cluster["name"]]
        entry = {"name": cluster["name"], "attempts": done["attempts"]}
        if "error" in done:
            entry.update(failed=True, msg=done["error"])
        else:
            entry.update(summary=snapshot_summary(done["result"]), snapshot=done["result"])
        entries.append(entry)
    return entries
