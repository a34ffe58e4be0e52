# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter drifted_objects: the objects a converge would change, from the check-mode results of the install roles."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: drifted_objects
short_description: The objects a converge would change, from check-mode task results
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - The one adapter between the install roles' check-mode results and the drift list of the mesh watch; it returns
    C([{cluster, kind, namespace, name, action, fields}]), one entry per object, sorted by kind, namespace and name.
  - Understands M(kubernetes.core.k8s) results (one object, or several under C(result.results)) run in check mode with diff
    (C(fields) are the paths that differ, such as C(metadata.labels["topology.istio.io/network"]); C(status),
    C(metadata.resourceVersion), C(generation) and C(managedFields) are left out), and M(kubernetes.core.helm) results
    (a release that would be installed or upgraded; C(fields) empty), and M(meshops.ambient_spire.k8s_apply) results
    (each of its RV(meshops.ambient_spire.k8s_apply#module:changes), with the paths or, for a Helm release, the reasons it
    found). Skipped and unchanged results give nothing.
  - C(action) is C(create), C(update) or C(delete). Values never appear, only paths (a Secret's diff holds its data).
options:
  _input:
    description: The registered task results, in any order (undefined or skipped ones are ignored).
    type: list
    elements: raw
    required: true
  cluster:
    description: The cluster the results are of.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: What a converge would change on this cluster
  ansible.builtin.set_fact:
    drift: "{{ [gloo_operator_state, gloo_operator_mesh] | meshops.ambient_spire.drifted_objects(inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: The objects a converge would change.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._drift import drifted_objects as _drifted_objects


def drifted_objects(results, cluster):
    if not isinstance(results, (list, tuple)):
        raise AnsibleFilterError("drifted_objects expects a list of task results, got %s" % type(results).__name__)
    return _drifted_objects(list(results), cluster)


class FilterModule(object):
    """meshops.ambient_spire.drifted_objects"""

    def filters(self):
        return {"drifted_objects": drifted_objects}
