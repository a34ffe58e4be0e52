# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter cluster_inputs: the inventory inputs of clusters as the validate_inputs module takes them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: cluster_inputs
short_description: Inventory inputs of clusters for the validate_inputs module
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - For each host, the raw values of C(kube_context), C(kubeconfig_path), C(mesh_cluster_name), C(mesh_network),
    C(mesh_trust_domain) and C(mesh_istio_version), null when undefined and without defaults (the module applies them,
    and says when an invalid value came from a default).
  - The license is reduced to C(license_set), whether C(mesh_license_key) is a non-empty string; its value never leaves
    the filter.
  - Reads only those variables, so with the lazy C(hostvars) of ansible-core 2.19 only they are templated.
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
"""

EXAMPLES = r"""
- name: Validate the inputs of every targeted cluster
  meshops.ambient_spire.validate_inputs:
    clusters: "{{ hostvars | meshops.ambient_spire.cluster_inputs(ansible_play_hosts_all) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: One item per host, the O(meshops.ambient_spire.validate_inputs#module:clusters) items.
  type: list
  elements: dict
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError, AnsibleUndefinedVariable
from jinja2.exceptions import UndefinedError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_identity import cluster_inputs as _cluster_inputs
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_identity import variable_getter


def cluster_inputs(hostvars, hosts):
    """The validate_inputs items of these hosts."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("cluster_inputs expects hostvars, got %s" % type(hostvars).__name__)
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("cluster_inputs expects a list of host names, got %s" % type(hosts).__name__)
    missing = [host for host in hosts if host not in hostvars]
    if missing:
        raise AnsibleFilterError("cluster_inputs: no variables for %s" % ", ".join(map(str, missing)))
    return [_cluster_inputs(variable_getter(hostvars[host], (KeyError, UndefinedError, AnsibleUndefinedVariable)), host) for host in hosts]


class FilterModule(object):
    """meshops.ambient_spire.cluster_inputs"""

    def filters(self):
        return {"cluster_inputs": cluster_inputs}
