# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench helper (not shipped as a plugin): counts per host the tasks that ran or were skipped and the module runs of each
collection, and writes them as JSON to the file named by ACTION_COUNTS_FILE at the end of the run.

A module run is one execution of the module: a loop counts its items, a task with ``until`` counts its attempts.
Enable with ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins ANSIBLE_CALLBACKS_ENABLED=action_counts (bench/converge.py does).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: action_counts
type: aggregate
short_description: Count tasks and module runs per host (bench helper)
description:
  - "Writes C({host: {tasks, skipped, runs: {collection: count}}}) to the file in E(ACTION_COUNTS_FILE)."
requirements:
  - enabled through C(callbacks_enabled)
"""

import collections
import json
import os

from ansible.plugins.callback import CallbackBase


def _runs(result):
    """Module runs behind one task result: its attempts, or the attempts of every item of a loop that was not skipped."""
    if isinstance(result.get("results"), list):
        return sum(_runs(item) for item in result["results"] if isinstance(item, dict))
    if result.get("skipped"):
        return 0
    return int(result.get("attempts", 1) or 1)


class CallbackModule(CallbackBase):
    """Counts, per host, tasks and module runs grouped by collection."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "action_counts"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.counts = collections.defaultdict(lambda: {"tasks": 0, "skipped": 0, "runs": collections.Counter()})

    def _record(self, result, skipped=False):
        host = result._host.get_name()  # pylint: disable=protected-access
        entry = self.counts[host]
        entry["tasks"] += 1
        if skipped:
            entry["skipped"] += 1
            return
        action = result._task.resolved_action or result._task.action  # pylint: disable=protected-access
        collection = ".".join(action.split(".")[:2]) if action.count(".") >= 2 else "ansible.builtin"
        entry["runs"][collection] += _runs(result._result)  # pylint: disable=protected-access

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("ACTION_COUNTS_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump({host: dict(entry, runs=dict(entry["runs"])) for host, entry in self.counts.items()}, handle, indent=1, sort_keys=True)
