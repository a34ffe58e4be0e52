# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter upgrade_plan: which cluster goes from which version to which, in which batch, and what is refused."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: upgrade_plan
short_description: The plan of a rolling upgrade, and the version skews it refuses
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - From what the clusters run (a M(meshops.ambient_spire.mesh_versions_info) result) and the versions wanted per host, the
    plan of the upgrade, one entry per host (C(from), C(to), C(changes), the install C(roles) to run, C(batch), C(canary),
    C(resumed), C(refusals)), the C(batches) (the canary alone, then batches of O(batch)), every refusal, and the plan as
    text (C(lines)).
  - A cluster whose ServiceMeshController carries an unfinished upgrade record (phase C(upgrading) or C(failed)) starts
    from the versions recorded there, not from what it half runs (C(resumed)).
  - "Refused: an Istio change of more than one minor version (Istio upgrades in place one minor at a time); ztunnel or
    istio-cni more than one minor behind istiod or ahead of it, now or while istiod runs the target; a target below what the
    features in use need (1.24.3 for a multicluster mesh; with several roots in use 1.24.6, 1.25.3 or 1.26.0 and later, and
    SPIRE 1.11 or later); a chart version that does not parse; a cluster not installed or not read. Each refusal names the
    host, the variable, the reason and the fix."
options:
  _input:
    description: The registered result of M(meshops.ambient_spire.mesh_versions_info) over the hosts of the run.
    type: dict
    required: true
  desired:
    description:
      - Per host, C(istio) (C(variable), C(version)) and C(releases) (each C(key) C(<namespace>/<release>), C(variable),
        C(version), C(role), C(spire) true for the SPIRE server release).
    type: dict
    required: true
  hosts:
    description: The hosts of the run, in inventory order.
    type: list
    elements: str
    required: true
  canary:
    description: The canary; default the first host.
    type: str
  batch:
    description: Hosts per batch after the canary.
    type: raw
    default: 1
  inventory_size:
    description: Number of clusters in the inventory (more than one makes the mesh multicluster).
    type: int
"""

EXAMPLES = r"""
- name: Plan the upgrade
  ansible.builtin.set_fact:
    upgrade_plan: >-
      {{ versions | meshops.ambient_spire.upgrade_plan(desired, ansible_play_hosts, canary=upgrade_canary, batch=upgrade_batch) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    clusters:
      description: One entry per host.
      type: list
      elements: dict
    batches:
      description: The hosts of each batch, the canary's first.
      type: list
      elements: list
    refusals:
      description: Why the upgrade may not start (empty when it may).
      type: list
      elements: str
    lines:
      description: The plan as text.
      type: list
      elements: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._upgrade_rules import plan_lines, plan_mesh


def upgrade_plan(versions, desired, hosts, canary=None, batch=1, inventory_size=None):
    if not isinstance(versions, Mapping) or not isinstance(versions.get("clusters"), list):
        raise AnsibleFilterError("upgrade_plan expects a mesh_versions_info result (with clusters)")
    if not isinstance(desired, Mapping):
        raise AnsibleFilterError("upgrade_plan: desired must be a dict of host -> desired versions")
    hosts = list(hosts)
    missing = [h for h in hosts if h not in desired]
    if missing:
        raise AnsibleFilterError("upgrade_plan: no desired versions for %s" % ", ".join(missing))
    reads = dict((entry.get("name"), entry) for entry in versions["clusters"])
    plan = plan_mesh(reads, dict(desired), hosts, canary=canary or None, batch=batch, inventory_size=inventory_size)
    plan["lines"] = plan_lines(plan)
    return plan


class FilterModule(object):
    """meshops.ambient_spire.upgrade_plan"""

    def filters(self):
        return {"upgrade_plan": upgrade_plan}
