# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the east-west address of many clusters, in parallel: the engine of the eastwest_peers_info module. PRIVATE.

Each cluster is read with its own connection (kubernetes.core's auth options, ``_k8s_rest.connect``): one LIST of the
Services labelled ``istio.io/expose-istiod`` in its east-west namespace. The address is the one ``istioctl multicluster
link`` takes (``_peer_gateway.service_address``). One cluster's failure never stops the others.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_rest import ApiError, KubeApi, connect
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import for_each_cluster
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import (
    DEFAULT_NAMESPACE,
    DEFAULT_SERVICE_ACCOUNT,
    EXPOSE_ISTIOD_LABEL,
    service_address,
)

PEER_KEYS = ("cluster", "network", "trust_domain", "region", "zone")


def eastwest_service(services, gateway_name):
    """The east-west Service: the one named like the east-west Gateway, else the first one labelled istio.io/expose-istiod."""
    named = [svc for svc in services if (svc.get("metadata") or {}).get("name") == gateway_name]
    return (named + list(services))[0] if services else None


def read_peer(api, cluster):
    """The east-west facts of one cluster: its identity (as given), service_account and address (None without one)."""
    namespace = cluster.get("namespace") or DEFAULT_NAMESPACE
    gateway_name = cluster.get("gateway_name") or DEFAULT_SERVICE_ACCOUNT
    doc = api.get("/api/v1/namespaces/%s/services" % namespace, {"labelSelector": EXPOSE_ISTIOD_LABEL})
    service = eastwest_service((doc or {}).get("items") or [], gateway_name)
    peer = dict((key, cluster.get(key) or "") for key in PEER_KEYS)
    peer["service_account"] = (service or {}).get("metadata", {}).get("name") or gateway_name
    peer["address"] = service_address(service) if service else None
    return peer


def read_peers(clusters, attempts=3, delay=3, timeout=30, connector=connect):
    """[{name, peer} or {name, failed, msg}] for every cluster, in the order given, read in parallel threads."""
    by_name = dict((cluster["name"], cluster) for cluster in clusters)

    def work(name):
        cluster = by_name[name]
        label = cluster.get("cluster") or name
        try:
            api = KubeApi(connector(cluster), attempts=attempts, delay=delay, timeout=timeout)
            return read_peer(api, cluster)
        except ApiError as exc:
            raise RuntimeError("cluster %s: %s (%d attempts)" % (label, exc, exc.attempts))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise RuntimeError("cluster %s: %s" % (label, exc))

    outcome = for_each_cluster(by_name, work)
    entries = []
    for cluster in clusters:
        done = outcome[cluster["name"]]
        if "error" in done:
            entries.append({"name": cluster["name"], "failed": True, "msg": done["error"]})
        else:
            entries.append({"name": cluster["name"], "peer": done["result"]})
    return entries
