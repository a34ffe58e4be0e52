# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meshops.ambient_spire.validate_inputs: in the worker process on the controller (plugin_utils._in_process)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.modules import validate_inputs
from ansible_collections.meshops.ambient_spire.plugins.plugin_utils._in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):

    MODULE = "meshops.ambient_spire.validate_inputs"
    IMPLEMENTATION = validate_inputs
