# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meshops.ambient_spire.k8s_apply: in the worker process when the host's connection is local.

The hosts of this collection's inventories are clusters reached from the controller (``ansible_connection: local``).
Running k8s_apply there as a module starts a Python process per task and host, which imports ansible's module support
again (about 0.3 s of CPU, more than a converged cluster's reads). When the connection is local, nothing is escalated
(become) and the connection takes the module's fast path (a kubeconfig with a token or a client certificate, no proxy:
``_k8s_rest.plain_kubeconfig``), this plugin runs the same code in the worker process that already runs the task.
Otherwise it runs the module on the host as usual (the kubernetes client is then used where it is installed).

The arguments are validated with the module's argument spec; the values of its no_log options, the secret values of
a kubeconfig dict and the data of Secrets among the manifests are removed from the result, as the module does.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import subprocess

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_apply, _k8s_rest
from ansible_collections.meshops.ambient_spire.plugins.plugin_utils._in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):

    MODULE = "meshops.ambient_spire.k8s_apply"

    def argument_spec(self):
        return _k8s_apply.argument_spec()

    def usable_here(self, params, environ):
        """The connection takes the module's fast path (without the kubernetes client)."""
        if not _k8s_rest.HAS_YAML:
            return False
        auth, impersonation = _k8s_rest.auth_from_params(params, environ)
        return _k8s_rest.plain_kubeconfig(auth, impersonation, environ) is not None

    def secret_values(self, params):
        return super(ActionModule, self).secret_values(params) | _k8s_apply.secret_data_values(params)

    @staticmethod
    def _fetch_url(params):
        def fetch(url):
            from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel
            return open_url(url, timeout=params["request_timeout"]).read()
        return fetch

    @staticmethod
    def _run_command(environ):
        def run_command(argv, env):
            proc = subprocess.run(argv, env=dict(environ, **env), capture_output=True, text=True, check=False)
            return proc.returncode, proc.stdout, proc.stderr
        return run_command

    def execute(self, params, environ, warn):
        return _k8s_apply.converge(params, check_mode=self._task.check_mode, diff=self._task.diff, fetch_url=self._fetch_url(params),
                                   environ=environ, run_command=self._run_command(environ))
