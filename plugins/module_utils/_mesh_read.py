# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the clusters of a mesh in one module run: the options mesh_snapshot and mesh_check share. PRIVATE to the collection.

Documented by the ``meshops.ambient_spire._mesh_read`` doc fragment. Each cluster connects with its own auth options (never the
module-level ones), the clusters are read in parallel threads, and a cluster that cannot be read is reported, not raised.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gc
import json
import os
import tempfile

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import (
    K8sClientError,
    auth_argument_spec,
    create_api_client,
    sensitive_kubeconfig_values,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import for_each_cluster, take_snapshot

SUMMARY_KEYS = ("cluster", "requests", "missing", "seconds")


def read_argument_spec():
    """What to read in each cluster, the clusters and their retries (a new dict, to merge into a module's argument_spec)."""
    cluster_spec = auth_argument_spec()
    cluster_spec.update(
        name={"type": "str", "required": True},
        cluster_name={"type": "str"},
        expected_network={"type": "str"},
        expected_trust_domain={"type": "str"},
        snapshot_file={"type": "path"},
    )
    return {
        "istio_namespace": {"type": "str", "default": "istio-system"},
        "spire_namespace": {"type": "str", "default": "spire-server"},
        "spire_agent_namespace": {"type": "str"},
        "spire_upstream_ca_secret": {"type": "str", "default": "spiffe-upstream-ca", "no_log": False},
        "license_check": {"type": "bool", "default": True},
        "request_timeout": {"type": "int", "default": 30},
        "clusters": {"type": "list", "elements": "dict", "options": cluster_spec},
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


def write_snapshot(path, snapshot):
    """Write the snapshot as JSON to path: 0600, through a temporary file in the same directory, then renamed."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(snapshot, separators=(",", ":")))  # one shot: the C encoder (json.dump streams in Python)
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_cluster(params, cluster):
    """One cluster's snapshot, also written to its snapshot_file when it has one.

    Raises K8sClientError, SnapshotError or OSError, each naming the cluster.
    """
    label = cluster.get("cluster_name") or cluster.get("context") or "(current context)"
    try:
        api_client = create_api_client(cluster)
    except K8sClientError as exc:
        raise K8sClientError("cluster %s: %s" % (label, exc))
    snapshot = take_snapshot(api_client, **snapshot_options(params, cluster))
    if cluster.get("snapshot_file"):
        try:
            write_snapshot(cluster["snapshot_file"], snapshot)
        except (IOError, OSError) as exc:
            raise OSError("cluster %s: cannot write the snapshot to %s: %s" % (snapshot.get("cluster") or label, cluster["snapshot_file"], exc))
    return snapshot


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


def sensitive_cluster_values(clusters):
    """Secret strings of the clusters' kubeconfigs given as dicts, to add to module.no_log_values before anything is returned."""
    found = set()
    for cluster in clusters:
        if isinstance(cluster.get("kubeconfig"), dict):
            found.update(sensitive_kubeconfig_values(cluster["kubeconfig"]))
    return found


def read_clusters(params):
    """Every cluster of params["clusters"], in parallel, each up to params["attempts"] times.

    -> one entry per cluster, in the order given: {name, attempts, summary, snapshot, snapshot_file (when written)} for a cluster
    that was read, {name, attempts, failed: True, msg} for one that could not be.
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
            if cluster.get("snapshot_file"):
                entry["snapshot_file"] = cluster["snapshot_file"]
        entries.append(entry)
    return entries
