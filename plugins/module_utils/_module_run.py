# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One body for a module run as a module and in the worker process (plugin_utils._in_process). PRIVATE to the collection.

A module's work is ``execute(params, check_mode, warn)``: it returns the result, or raises ModuleFailure with the message
and what the failed task returns besides. ``run_as_module`` runs it under an AnsibleModule.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleFailure(Exception):
    """The task fails with ``msg``; ``result`` is what it returns with it (findings, report lines...)."""

    def __init__(self, msg, **result):
        super(ModuleFailure, self).__init__(msg)
        self.msg = msg
        self.result = result


def run_as_module(module, execute):
    """Exit the module with what execute(params, check_mode, warn) returns, or fail it with its ModuleFailure."""
    try:
        result = execute(module.params, module.check_mode, module.warn)
    except ModuleFailure as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    module.exit_json(**result)
