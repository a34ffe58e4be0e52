# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter mesh_identity: the cluster, network and trust domain of inventory hosts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: mesh_identity
short_description: Cluster name, network and trust domain of an inventory host
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - The one rule of the inventory model. The cluster is C(mesh_cluster_name), else the inventory host name; the network
    is C(mesh_network), else the cluster; the trust domain is C(mesh_trust_domain), else the cluster. A variable that is
    undefined, null or empty is unset.
  - Reads only those three variables, so with the lazy C(hostvars) of ansible-core 2.19 only they are templated.
  - With a host name, the input is that host's variables (C(hostvars[host]), or C(vars) for the host the task runs for,
    which also sees play and role variables) and the result is one dict. With a list of host names, the input is
    C(hostvars) and the result is a list, in the order of the hosts.
options:
  _input:
    description: The variables of the host (C(hostvars[host]) or C(vars)), or C(hostvars) with a list of hosts.
    type: dict
    required: true
  host:
    description: The inventory host name, or a list of them.
    type: raw
    required: true
  cluster:
    description:
      - A cluster name already decided (a role's own C(<role>_cluster_name)). It replaces C(mesh_cluster_name), and the
        network and trust domain default to it. Only with a single host.
    type: str
"""

EXAMPLES = r"""
- name: Identity of every cluster of the inventory
  ansible.builtin.debug:
    msg: "{{ hostvars | meshops.ambient_spire.mesh_identity(groups['k8s_clusters']) }}"

- name: Cluster name of the host of this task (play and role variables included)
  ansible.builtin.debug:
    msg: "{{ (vars | meshops.ambient_spire.mesh_identity(inventory_hostname)).cluster }}"

- name: Network of another host
  ansible.builtin.debug:
    msg: "{{ (hostvars['cluster2'] | meshops.ambient_spire.mesh_identity('cluster2')).network }}"
"""

RETURN = r"""
_value:
  description: The identity (a list of them with a list of hosts).
  type: dict
  contains:
    host:
      description: The inventory host name.
      type: str
    cluster:
      description: The cluster name (istiod C(CLUSTER_ID), SMC C(spec.cluster), C(istio-remote-peer-<cluster>), PKI directory).
      type: str
    network:
      description: The network (C(topology.istio.io/network)).
      type: str
    trust_domain:
      description: The trust domain of SPIRE and the mesh.
      type: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError, AnsibleUndefinedVariable
from jinja2.exceptions import UndefinedError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_identity import host_identity, variable_getter


def _getter(variables):
    # an undefined value (a template naming an undefined variable) counts as unset, as default() would
    return variable_getter(variables, (KeyError, UndefinedError, AnsibleUndefinedVariable))


def _hosts(host):
    if isinstance(host, str):
        return None
    if isinstance(host, (list, tuple)):
        return list(host)
    raise AnsibleFilterError("mesh_identity: host must be a host name or a list of them, got %s" % type(host).__name__)


def mesh_identity(variables, host, cluster=None):
    """{host, cluster, network, trust_domain} of one host, or a list of them for a list of hosts."""
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError("mesh_identity expects the variables of a host (hostvars[host] or vars), got %s" % type(variables).__name__)
    hosts = _hosts(host)
    if hosts is None:
        return host_identity(_getter(variables), host, cluster)
    if cluster is not None:
        raise AnsibleFilterError("mesh_identity: cluster goes with a single host, not a list of hosts")
    missing = [name for name in hosts if name not in variables]
    if missing:
        raise AnsibleFilterError("mesh_identity: with a list of hosts the input is hostvars; no variables for %s" % ", ".join(map(str, missing)))
    return [host_identity(_getter(variables[name]), name) for name in hosts]


class FilterModule(object):
    """meshops.ambient_spire.mesh_identity"""

    def filters(self):
        return {"mesh_identity": mesh_identity}
