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

import os
import subprocess

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_apply, _k8s_rest
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import sensitive_values

MODULE = "meshops.ambient_spire.k8s_apply"


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def _environment(self):
        """The process environment with the task's `environment` over it (what the module would see)."""
        environ = dict(os.environ)
        environments = self._task.environment
        if environments is None:
            return environ
        for environment in environments if isinstance(environments, list) else [environments]:
            if environment:
                templated = self._templar.template(environment)
                if not isinstance(templated, dict):
                    raise AnsibleActionFail("environment must be a dictionary, received %s (%s)" % (templated, type(templated)))
                environ.update(dict((str(key), str(value)) for key, value in templated.items()))
        return environ

    def _in_process(self, params, environ):
        """Whether to run here: a local connection, no become, and the fast path of the connection."""
        if getattr(self._connection, "transport", None) != "local" or self._play_context.become:
            return False
        if not _k8s_rest.HAS_YAML:
            return False
        auth, impersonation = _k8s_rest.auth_from_params(params, environ)
        return _k8s_rest.plain_kubeconfig(auth, impersonation, environ) is not None

    def _fetch_url(self, params):
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

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        validation, params = self.validate_argument_spec(argument_spec=_k8s_apply.argument_spec())
        params = validation.validated_parameters
        environ = self._environment()
        if not self._in_process(params, environ):
            return self._execute_module(module_name=MODULE, module_args=self._task.args, task_vars=task_vars)
        hidden = set(validation._no_log_values) | sensitive_values(params) | _k8s_apply.secret_data_values(params)  # pylint: disable=protected-access
        result = _k8s_apply.converge(params, check_mode=self._task.check_mode, diff=self._task.diff, fetch_url=self._fetch_url(params),
                                     environ=environ, run_command=self._run_command(environ))
        result = remove_values(result, hidden)
        result.setdefault("changed", False)
        return result
