# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter mesh_issues: the checks of a mesh_check result that found errors in one cluster or across the mesh."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: mesh_issues
short_description: Checks of a mesh_check result that found errors in one cluster or across the mesh
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Returns the ids of the checks whose verdict is C(error) for the cluster of the given inventory host, or for the mesh
    as a whole, in the order of the report.
  - The cluster is the name the host was read under (C(clusters[].summary.cluster) of the result), else the host name.
  - Returns an empty list when the result has no C(summary) (the mesh check did not run or could not evaluate).
options:
  _input:
    description: The registered result of M(meshops.ambient_spire.mesh_check) (or an empty dict).
    type: dict
    required: true
  host:
    description: The inventory host name of the cluster.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Checks with errors for this cluster
  ansible.builtin.set_fact:
    mesh_issues: "{{ mesh_check_result | default({}) | meshops.ambient_spire.mesh_issues(inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: Check ids.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

MESH = "mesh"


def _cluster_of(result, host):
    for item in result.get("clusters") or []:
        if isinstance(item, dict) and item.get("name") == host:
            summary = item.get("summary")
            return (summary.get("cluster") or host) if isinstance(summary, dict) else host
    return host


def mesh_issues(result, host):
    """Ids of the checks with an error verdict for the host's cluster or for the mesh."""
    if not isinstance(result, dict):
        raise AnsibleFilterError("mesh_issues expects a mesh_check result dict, got %s" % type(result).__name__)
    summary = result.get("summary")
    if not isinstance(summary, dict):
        return []
    cluster = _cluster_of(result, host)
    return [check.get("id") for check in summary.get("checks") or []
            if (check.get("clusters") or {}).get(cluster) == "error" or (check.get("clusters") or {}).get(MESH) == "error"]


class FilterModule(object):
    """meshops.ambient_spire.mesh_issues"""

    def filters(self):
        return {"mesh_issues": mesh_issues}
