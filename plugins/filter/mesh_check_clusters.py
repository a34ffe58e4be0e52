# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter mesh_check_clusters: the clusters of inventory hosts as the mesh_check and mesh_versions_info modules take them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: mesh_check_clusters
short_description: The clusters of inventory hosts, each with its connection, for mesh_check and mesh_versions_info
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - For each host, in the order given, C(name) (the host), C(cluster_name) and, with O(expectations), C(expected_network) and
    C(expected_trust_domain) (the inventory model, as the filter P(meshops.ambient_spire.mesh_identity#filter) derives them),
    and the connection, the host's C(mesh_check_connection) when set, else its C(kubeconfig_path) and C(kube_context) (those set).
  - Works on C(hostvars) from any play, also on hosts outside the current batch of a C(serial) play (a gate after a batch
    checks the whole mesh).
  - The connection may hold secrets; use the result in tasks with C(no_log) or in modules that mask them (the modules of
    this collection do).
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The inventory host names.
    type: list
    elements: str
    required: true
  expectations:
    description: Add C(expected_network) and C(expected_trust_domain) (for M(meshops.ambient_spire.mesh_check)).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Check the whole mesh from a serial play
  meshops.ambient_spire.mesh_check:
    clusters: "{{ hostvars | meshops.ambient_spire.mesh_check_clusters(groups['k8s_clusters']) }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: One cluster per host.
  type: list
  elements: dict
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError, AnsibleUndefinedVariable
from jinja2.exceptions import UndefinedError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_identity import host_identity, is_unset, variable_getter


def cluster_entry(get, host, expectations=True):
    identity = host_identity(get, host)
    connection = get("mesh_check_connection")
    if not isinstance(connection, Mapping):
        connection = {"kubeconfig": get("kubeconfig_path"), "context": get("kube_context")}
    entry = dict((key, value) for key, value in connection.items() if not is_unset(value))
    entry.update(name=host, cluster_name=identity["cluster"])
    if expectations:
        entry.update(expected_network=identity["network"], expected_trust_domain=identity["trust_domain"])
    return entry


def mesh_check_clusters(hostvars, hosts, expectations=True):
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("mesh_check_clusters expects hostvars, got %s" % type(hostvars).__name__)
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("mesh_check_clusters: hosts must be a list of host names")
    missing = [name for name in hosts if name not in hostvars]
    if missing:
        raise AnsibleFilterError("mesh_check_clusters: no variables for %s (not in the inventory)" % ", ".join(map(str, missing)))
    undefined = (KeyError, UndefinedError, AnsibleUndefinedVariable)
    return [cluster_entry(variable_getter(hostvars[name], undefined), name, expectations) for name in hosts]


class FilterModule(object):
    """meshops.ambient_spire.mesh_check_clusters"""

    def filters(self):
        return {"mesh_check_clusters": mesh_check_clusters}
