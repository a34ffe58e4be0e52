# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers of the mesh checks. PRIVATE to the collection: may change at any time.

A check is a pure function ``check(snapshots, options) -> list of findings``.
``snapshots`` is an ordered dict ``cluster name -> snapshot`` (the ``snapshot`` return value of
``meshops.ambient_spire.mesh_snapshot_info``); ``options`` holds ``precheck``, ``flat_network``, ``now``,
``warning_days`` and ``root_ca_pem``. A finding is a dict with the keys ``check``, ``cluster``
(``None`` for mesh-wide findings), ``level`` (``ok``, ``info``, ``warning``, ``error``), ``message``,
``hint`` and optionally ``details`` (verbose lines).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._cert_chain import LEVELS, finding  # noqa: F401 pylint: disable=unused-import
# The Gateway shapes live in _peer_gateway; the checks import them from here.
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import (  # noqa: F401 pylint: disable=unused-import
    ADDRESS_ANNOTATION,
    CLUSTER_LABEL,
    EASTWEST_CLASS,
    NETWORK_LABEL,
    PEER_CONNECTED,
    PEER_PREFIX,
    PEERING_SUCCEEDED,
    REMOTE_CLASS,
    SERVICE_ACCOUNT_ANNOTATION,
    TRUST_DOMAIN_ANNOTATION,
    gateway_addresses,
    peer_target_cluster,
)

LEVEL_RANK = {"ok": 0, "info": 0, "warning": 1, "error": 2}


def worst(levels):
    """The worst level of an iterable of levels ('ok' when empty); 'info' counts as 'ok'."""
    best = "ok"
    for level in levels:
        if LEVEL_RANK.get(level, 0) > LEVEL_RANK[best]:
            best = level
    return best


def option(options, name, default=None):
    if not options:
        return default
    value = options.get(name)
    return default if value is None else value


def istio_namespace(snapshot):
    return snapshot.get("istio_namespace") or "istio-system"


def gateways_of_class(snapshot, class_name):
    return [gw for gw in snapshot.get("gateways") or [] if gw.get("class") == class_name]


def condition(obj, type_name):
    """The condition dict of the given type, or None."""
    for cond in obj.get("conditions") or []:
        if cond.get("type") == type_name:
            return cond
    return None


def gateway_ref(gw):
    return "%s/%s" % (gw.get("namespace") or "", gw.get("name") or "")


def namespace_network(snapshot):
    labels = (snapshot.get("namespaces") or {}).get(istio_namespace(snapshot)) or {}
    return labels.get(NETWORK_LABEL)


def mesh_trust_domain(snapshot):
    mesh = snapshot.get("mesh_config") or {}
    return mesh.get("trust_domain")


def parse_go_bool(value):
    """strconv.ParseBool: True/False, or None when the value is not a Go boolean."""
    if value is None:
        return None
    text = str(value)
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def exposed_addresses(snapshot):
    """Addresses under which a cluster's east-west gateway is reachable (for address -> cluster)."""
    values = set()
    for gw in gateways_of_class(snapshot, EASTWEST_CLASS):
        values.update(gateway_addresses(gw))
    for svc in snapshot.get("eastwest_services") or []:
        annotation = (svc.get("annotations") or {}).get(ADDRESS_ANNOTATION)
        if annotation:
            values.add(annotation)
        for value in svc.get("ingress") or []:
            values.add(value)
    return values
