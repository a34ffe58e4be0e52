#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: helm_rollback
short_description: Return a Helm release to an earlier revision (helm rollback), idempotently
version_added: 0.1.0
description:
  - Runs C(helm rollback) to O(revision) of release O(release_name) unless the release already runs that revision's chart
    (same chart, chart version and app version, last revision C(deployed)); Helm then restores that revision's chart and values
    exactly, as a new revision.
  - This is how an upgrade returns a failed batch to the versions it had (M(kubernetes.core.helm) has no rollback).
  - The connection options are those of M(kubernetes.core.helm); the values of the revisions never leave the module.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - kubernetes.core.helm_common_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the release history and says whether a rollback would happen, without running it.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  release_name:
    description: Release name.
    type: str
    required: true
    aliases: [name]
  release_namespace:
    description: Namespace of the release.
    type: str
    required: true
    aliases: [namespace]
  revision:
    description: The revision to return to.
    type: int
    required: true
  wait:
    description: Wait until the release's resources are ready (C(helm rollback --wait)).
    type: bool
    default: true
  wait_timeout:
    description: Timeout of the wait (C(--timeout), a Go duration such as C(5m)).
    type: str
    default: 5m
seealso:
  - module: kubernetes.core.helm
'''

EXAMPLES = r'''
- name: Return the spire release to revision 3
  meshops.ambient_spire.helm_rollback:
    release_name: spire
    release_namespace: spire-server
    revision: 3
    context: cluster1
'''

RETURN = r'''
before:
  description: The last revision before the module ran (C(revision), C(chart), C(app_version), C(status)).
  returned: always
  type: dict
target:
  description: The revision returned to (C(revision), C(chart), C(app_version)).
  returned: always
  type: dict
command:
  description: The helm command run (or that would run, in check mode); empty when nothing was to do.
  returned: always
  type: str
'''

import json

from ansible_collections.kubernetes.core.plugins.module_utils.helm import AnsibleHelmModule
from ansible_collections.kubernetes.core.plugins.module_utils.helm_args_common import (
    HELM_AUTH_ARG_SPEC,
    HELM_AUTH_MUTUALLY_EXCLUSIVE,
)


def _entry(item):
    return {"revision": item.get("revision"), "chart": item.get("chart"), "app_version": item.get("app_version"), "status": item.get("status")}


def rollback_needed(history, revision):
    """(needed, last, target) from ``helm history -o json``: no rollback when the last revision is deployed with the target's chart."""
    by_revision = dict((int(item.get("revision")), item) for item in history if item.get("revision") is not None)
    if revision not in by_revision:
        return None, _entry(history[-1]) if history else {}, None
    last = by_revision[max(by_revision)]
    target = by_revision[revision]
    same = last.get("status") == "deployed" and last.get("chart") == target.get("chart") and last.get("app_version") == target.get("app_version")
    return not same, _entry(last), _entry(target)


def main():
    spec = dict(HELM_AUTH_ARG_SPEC)
    spec.update(
        release_name={"type": "str", "required": True, "aliases": ["name"]},
        release_namespace={"type": "str", "required": True, "aliases": ["namespace"]},
        revision={"type": "int", "required": True},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "str", "default": "5m"},
    )
    module = AnsibleHelmModule(argument_spec=spec, mutually_exclusive=HELM_AUTH_MUTUALLY_EXCLUSIVE, supports_check_mode=True)
    params = module.params
    helm = module.get_helm_binary()
    name, namespace, revision = params["release_name"], params["release_namespace"], params["revision"]
    dummy, out, dummy2 = module.run_helm_command([helm, "history", name, "--namespace", namespace, "--max", "256", "--output", "json"])
    try:
        history = json.loads(out or "[]")
    except ValueError:
        module.fail_json(msg="helm history %s -n %s: not JSON: %s" % (name, namespace, (out or "")[:200]))
    needed, last, target = rollback_needed(history, revision)
    if needed is None:
        module.fail_json(msg="release %s/%s has no revision %d (Helm keeps the last revisions only; see helm history)" % (namespace, name, revision),
                         before=last)
    command = [helm, "rollback", name, str(revision), "--namespace", namespace]
    if params["wait"]:
        command += ["--wait", "--timeout", params["wait_timeout"]]
    result = {"changed": bool(needed), "before": last, "target": target, "command": " ".join(command) if needed else ""}
    if needed and not module.check_mode:
        module.run_helm_command(command)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
