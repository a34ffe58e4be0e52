# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench helper (not shipped as a plugin): the wall time of every task (from its start to the last host's result) and of
every play, written as JSON to the file named by TASK_TIMES_FILE at the end of the run.

Enable with ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins ANSIBLE_CALLBACKS_ENABLED=task_times (bench/rotate.py does).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: task_times
type: aggregate
short_description: Wall time of every task and play (bench helper)
description:
  - "Writes C({plays: [{name, start, end}], tasks: [{play, name, start, end, attempts}]}) to the file in E(TASK_TIMES_FILE)."
requirements:
  - enabled through C(callbacks_enabled)
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Records when every task and play started and when its last result arrived."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.plays, self.tasks = [], []

    def v2_playbook_on_play_start(self, play):
        now = time.time()
        if self.plays:
            self.plays[-1]["end"] = now
        self.plays.append({"name": play.get_name(), "start": now, "end": now})

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = time.time()
        self.tasks.append({"play": self.plays[-1]["name"] if self.plays else "", "name": task.get_name(), "start": now, "end": now,
                           "attempts": 0})

    def _result(self, result):
        if self.tasks:
            self.tasks[-1]["end"] = time.time()
            self.tasks[-1]["attempts"] = max(self.tasks[-1]["attempts"], int(result._result.get("attempts", 1) or 1))
        if self.plays:
            self.plays[-1]["end"] = time.time()

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _result

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("TASK_TIMES_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump({"plays": self.plays, "tasks": self.tasks}, handle)
