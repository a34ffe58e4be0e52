# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench helper (not shipped as a plugin): CPU seconds of ansible-playbook per play, written as JSON to the file named by
PLAY_CPU_FILE at the end of the run.

A play's CPU is what the controller process and its reaped children (workers, and the module processes and helm runs
they waited for) used between the start of the play and the start of the next one (or the end): workers still running
at a play boundary are counted in the next play, so the split is approximate; the total is exact.
Enable with ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins ANSIBLE_CALLBACKS_ENABLED=play_cpu (bench/fleet.py does).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: play_cpu
type: aggregate
short_description: CPU seconds per play (bench helper)
description:
  - "Writes C([{play, cpu}]) to the file in E(PLAY_CPU_FILE)."
requirements:
  - enabled through C(callbacks_enabled)
"""

import json
import os
import resource

from ansible.plugins.callback import CallbackBase


def _cpu():
    """(CPU of the controller process itself, CPU of the controller and its reaped children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    controller = own.ru_utime + own.ru_stime
    return controller, controller + children.ru_utime + children.ru_stime


class CallbackModule(CallbackBase):
    """Records the CPU used from one play start to the next."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "play_cpu"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.plays = []
        self.start = _cpu()
        self.current = ("(start)", self.start)

    def _close(self):
        now = _cpu()
        self.plays.append({"play": self.current[0], "cpu": round(now[1] - self.current[1][1], 2),
                           "controller": round(now[0] - self.current[1][0], 2)})
        return now

    def v2_playbook_on_play_start(self, play):
        now = self._close()
        self.current = (play.get_name(), now)

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get("PLAY_CPU_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump(self.plays, handle, indent=1)
