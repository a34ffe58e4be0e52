# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter upgrade_record: the record an upgrade keeps on a cluster (the versions it had, the target, the phase)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: upgrade_record
short_description: The record an upgrade keeps on a cluster, as the JSON text of an annotation
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - The value of the annotation C(upgrade.meshops.io/record) of the cluster's ServiceMeshController; C(phase) (C(upgrading),
    C(failed), C(done), C(rolled-back)), C(from) (the versions and Helm revisions the cluster had before the upgrade),
    C(to), C(batch), C(started), C(updated) and, for a failure, C(reason).
  - Written before the first write of an upgrade to a cluster, so that a rerun after a failed or interrupted run knows the
    versions the cluster had (see P(meshops.ambient_spire.upgrade_plan#filter)).
options:
  _input:
    description: The plan of P(meshops.ambient_spire.upgrade_plan#filter).
    type: dict
    required: true
  host:
    description: The host whose record this is.
    type: str
    required: true
  phase:
    description: The phase to record.
    type: str
    required: true
    choices: [upgrading, failed, done, rolled-back]
  time:
    description: The time of this phase (ISO 8601).
    type: str
    required: true
  reason:
    description: Why the upgrade failed.
    type: str
  started:
    description: When this run started the upgrade of the cluster (a resumed upgrade keeps the recorded start).
    type: str
"""

EXAMPLES = r"""
- name: Keep the versions this cluster has before the first write
  kubernetes.core.k8s:
    state: patched
    api_version: operator.gloo.solo.io/v1
    kind: ServiceMeshController
    name: managed-istio
    definition:
      metadata:
        annotations:
          upgrade.meshops.io/record: "{{ plan | meshops.ambient_spire.upgrade_record(inventory_hostname, 'upgrading', now(utc=true).isoformat()) }}"
"""

RETURN = r"""
_value:
  description: The record as compact JSON text.
  type: str
"""

import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._upgrade_rules import record

PHASES = ("upgrading", "failed", "done", "rolled-back")


def upgrade_record(plan, host, phase, time, reason=None, started=None):
    if not isinstance(plan, Mapping):
        raise AnsibleFilterError("upgrade_record expects the plan of upgrade_plan")
    if phase not in PHASES:
        raise AnsibleFilterError("upgrade_record: phase must be one of %s" % ", ".join(PHASES))
    entry = next((e for e in plan.get("clusters") or [] if e.get("host") == host), None)
    if entry is None or "from" not in entry:
        raise AnsibleFilterError("upgrade_record: %s has no plan entry with versions" % host)
    return json.dumps(record(phase, entry, str(time), previous=entry.get("record"), reason=reason, started=started),
                      sort_keys=True, separators=(",", ":"))


class FilterModule(object):
    """meshops.ambient_spire.upgrade_record"""

    def filters(self):
        return {"upgrade_record": upgrade_record}
