# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter pods_not_ready: the components whose pods are missing or not all Ready."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: pods_not_ready
short_description: Components whose pods are missing or not all Ready
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Counts, for each component, the pods that carry all of its labels and those of them whose C(Ready) condition is
    C(True), and returns C(<component> <ready>/<pods>) for every component with no pod or with a pod that is not Ready,
    in the order of the components.
options:
  _input:
    description: Pod objects, as kubernetes.core.k8s_info returns them in C(resources).
    type: list
    elements: dict
    required: true
  components:
    description: The components, each a dict with C(name) and C(labels) (the labels that select its pods).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: What is not ready in istio-system
  ansible.builtin.debug:
    msg: "{{ pods.resources | meshops.ambient_spire.pods_not_ready([{'name': 'istiod', 'labels': {'app': 'istiod'}}]) | join(', ') }}"
"""

RETURN = r"""
_value:
  description: One C(<component> <ready>/<pods>) line per component that is not ready (empty when all are).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError


def _is_ready(pod):
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(isinstance(cond, dict) and cond.get("type") == "Ready" and cond.get("status") == "True" for cond in conditions)


def _selects(labels, pod):
    pod_labels = (pod.get("metadata") or {}).get("labels") or {}
    return all(pod_labels.get(key, "") == value for key, value in labels.items())


def pods_not_ready(pods, components):
    """'<component> <ready>/<pods>' for every component with no pod or a pod that is not Ready."""
    if not isinstance(pods, (list, tuple)) or not isinstance(components, (list, tuple)):
        raise AnsibleFilterError("pods_not_ready expects a list of pods and a list of components")
    result = []
    for component in components:
        if not isinstance(component, dict) or not component.get("name") or not isinstance(component.get("labels"), dict):
            raise AnsibleFilterError("pods_not_ready: every component needs a name and a dict of labels, got %r" % (component,))
        selected = [pod for pod in pods if isinstance(pod, dict) and _selects(component["labels"], pod)]
        ready = len([pod for pod in selected if _is_ready(pod)])
        if not selected or ready < len(selected):
            result.append("%s %d/%d" % (component["name"], ready, len(selected)))
    return result


class FilterModule(object):
    """meshops.ambient_spire.pods_not_ready"""

    def filters(self):
        return {"pods_not_ready": pods_not_ready}
