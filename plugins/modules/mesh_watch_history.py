#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mesh_watch_history
short_description: The mesh watch's history, one JSON record per run, and what changed since the previous run
version_added: 0.1.0
description:
  - Reads the history of the mesh watch, a JSON Lines file C(mesh-watch-history.jsonl) in O(dir) (one record per run, oldest
    first; a line that does not parse, such as a torn write, is skipped), and returns its last O(last) records.
  - With O(run), builds this run's record from the mesh check's findings and summary and the drifted objects, compares it with
    the previous record (new and resolved findings per check and cluster, newly drifted and no longer drifted objects), and
    appends it (one line, written and flushed at once), keeping the last O(keep) records.
  - A record holds no secret; findings, and the names and field paths of the drifted objects, never their values.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Builds and compares the record; appends nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  dir:
    description: Directory of the history (created 0755 when missing). Without it there is no history (every finding is new).
    type: path
  last:
    description: How many of the previous records RV(records) returns (oldest first).
    type: int
    default: 20
  keep:
    description: How many records the history keeps (the oldest are dropped when a record is appended); 0 keeps all.
    type: int
    default: 1000
  run:
    description:
      - This run, to record. Without it the module only reads.
      - C(findings) and C(summary) as M(meshops.ambient_spire.mesh_check) returns them, C(drift) the drifted objects (filter
        P(meshops.ambient_spire.drifted_objects#filter)), C(errors) the clusters whose comparison could not run
        (C(cluster), C(reason)), C(clusters) the cluster names, C(id) an identifier of the run (such as the AWX job id).
    type: dict
seealso:
  - module: meshops.ambient_spire.mesh_check
'''

EXAMPLES = r'''
- name: Record this run of the watch
  meshops.ambient_spire.mesh_watch_history:
    dir: /var/lib/meshops/watch
    run:
      findings: "{{ mesh_check_result.findings }}"
      summary: "{{ mesh_check_result.summary }}"
      drift: "{{ drift }}"
      clusters: "{{ ansible_play_hosts }}"
  register: watch
'''

RETURN = r'''
records:
  description: The last O(last) records before this run, oldest first.
  returned: always
  type: list
  elements: dict
record:
  description:
    - This run's record (C(time), C(run), C(clusters), C(mesh) with C(passed), C(errors), C(warnings), C(failed_checks); C(issues)
      per check and cluster; C(drift); C(errors); C(drifted), C(healthy), C(clean)).
  returned: when O(run) is given
  type: dict
changes:
  description:
    - What changed since the previous record, C(previous) (its time, null for the first run), C(new_findings),
      C(resolved_findings), C(new_drift), C(resolved_drift).
  returned: when O(run) is given
  type: dict
lines:
  description: What changed since the previous run (new and resolved findings, newly drifted and no longer drifted objects), then this run's state.
  returned: when O(run) is given
  type: list
  elements: str
verdict:
  description: One line, C(clean ...) or what is wrong.
  returned: when O(run) is given
  type: str
path:
  description: The history file.
  returned: when O(dir) is given
  type: str
'''

import datetime
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshops.ambient_spire.plugins.module_utils._watch_history import (
    append_record,
    compare,
    history_path,
    make_record,
    read_history,
    summary_lines,
    verdict,
)


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def main():
    module = AnsibleModule(argument_spec={
        "dir": {"type": "path"},
        "last": {"type": "int", "default": 20},
        "keep": {"type": "int", "default": 1000},
        "run": {"type": "dict"},
    }, supports_check_mode=True)
    params = module.params
    directory = params["dir"]
    if directory and os.path.exists(directory) and not os.path.isdir(directory):
        module.fail_json(msg="dir %s exists and is not a directory" % directory)
    history = read_history(directory) if directory else []
    result = {"changed": False, "records": history[-params["last"]:] if params["last"] > 0 else []}
    if directory:
        result["path"] = history_path(directory)
    run = params["run"]
    if run is not None:
        record = make_record(now(), run.get("id"), run.get("clusters") or [], run.get("summary") or {}, run.get("findings") or [],
                             run.get("drift") or [], run.get("errors") or [])
        result["record"] = record
        result["changes"] = compare(history[-1] if history else None, record)
        result["lines"] = summary_lines(record, result["changes"])
        result["verdict"] = verdict(record)
        result["changed"] = bool(directory)
        if directory and not module.check_mode:
            try:
                append_record(directory, record, keep=params["keep"] or None)
            except (IOError, OSError) as exc:
                module.fail_json(msg="cannot append to the history in %s: %s" % (directory, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
