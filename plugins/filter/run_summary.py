# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter run_summary: one line per cluster of a site.yml run: converged and linked, or why not."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: run_summary
short_description: One line per cluster of a site run, converged and linked or why not
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Reads, for each targeted host, the facts that C(playbooks/site.yml) sets along the way and says in one line what
    became of the cluster.
  - >-
    C(meshops_failure) (why the install failed) gives C(<host>: FAILED at <failure>).
  - >-
    C(eastwest_peer_facts) (the link step ran) gives C(<host>: converged and linked to <peers>), the peers being the
    other targeted hosts that also reached the link step, sorted; with a single targeted host C(converged (single
    cluster, nothing to link)), and C(converged, not linked: no other cluster converged) when no other one did. A host
    without C(meshops_finished) failed in the mesh check afterwards, and the line says so; C(meshops_mesh_issues) (the
    checks with errors) are appended.
  - >-
    Otherwise C(<host>: not linked in this run (failed before, or left out by --tags; see above)).
  - Reads only those variables, so with the lazy C(hostvars) of ansible-core 2.19 only they are templated.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The targeted inventory hosts, in the order of the lines.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Which clusters converged, and why the others failed
  ansible.builtin.debug:
    msg: "{{ hostvars | meshops.ambient_spire.run_summary(groups['k8s_clusters']) }}"
"""

RETURN = r"""
_value:
  description: One line per host.
  type: list
  elements: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

FAILURE = "meshops_failure"
LINKED = "eastwest_peer_facts"
FINISHED = "meshops_finished"
ISSUES = "meshops_mesh_issues"


def _line(host, variables, peers, single):
    if FAILURE in variables:
        return "%s: FAILED at %s" % (host, variables[FAILURE])
    if LINKED not in variables:
        return "%s: not linked in this run (failed before, or left out by --tags; see above)" % host
    if peers:
        line = "%s: converged and linked to %s" % (host, ", ".join(sorted(peers)))
    elif single:
        line = "%s: converged (single cluster, nothing to link)" % host
    else:
        line = "%s: converged, not linked: no other cluster converged" % host
    if FINISHED not in variables:
        return line + "; FAILED in the mesh check (see above)"
    issues = variables[ISSUES] if ISSUES in variables else []
    if issues:
        line += "; the mesh check found issues: %s (see the report above)" % ", ".join(issues)
    return line


def run_summary(hostvars, hosts):
    """One line per host: converged and linked, or why not."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("run_summary expects hostvars, got %s" % type(hostvars).__name__)
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("run_summary expects a list of host names, got %s" % type(hosts).__name__)
    variables = dict((host, hostvars[host]) for host in hosts)
    linked = [host for host in hosts if LINKED in variables[host]]
    return [_line(host, variables[host], [peer for peer in linked if peer != host], len(hosts) == 1) for host in hosts]


class FilterModule(object):
    """meshops.ambient_spire.run_summary"""

    def filters(self):
        return {"run_summary": run_summary}
