# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module of this collection in the worker process when its host is the controller. PRIVATE to the collection.

The hosts of this collection's inventories are clusters reached from the controller (``ansible_connection: local``), and
its run-once modules (validate_inputs, preflight, pki_tree, cert_chain_check, eastwest_peers_info, mesh_check) run there
too. As modules, each run starts a Python process that imports ansible's module support again, through a few shell
commands (0.3 to 0.5 s of CPU, more than the work of most of them on one cluster). The worker process that runs the task
is already a fork of the controller made for this one task and host: when the connection is local, nothing is escalated
(become) and what the module needs is importable here, the action plugin runs the module's own ``execute`` in it, with
the task's ``environment`` applied to this process as the module process would get it. Otherwise the module runs as usual.

The arguments are turned into what a module receives (plain JSON values) and validated with the module's argument spec
(bad arguments fail the task as they fail the module, with the invocation); the values of its no_log options and the
secret values of a kubeconfig given as a dict are removed from the result, as the module does.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_client, _k8s_rest
from ansible_collections.meshops.ambient_spire.plugins.module_utils._module_run import ModuleFailure


def task_environment(templar, environments):
    """The task's ``environment`` keyword (a dict or a list of dicts), templated, as one dict of strings."""
    merged = {}
    if environments is None:
        return merged
    for environment in environments if isinstance(environments, list) else [environments]:
        if environment:
            templated = templar.template(environment)
            if not isinstance(templated, dict):
                raise AnsibleActionFail("environment must be a dictionary, received %s (%s)" % (templated, type(templated)))
            merged.update(dict((str(key), str(value)) for key, value in templated.items()))
    return merged


def as_module_args(args):
    """The task's arguments as a module receives them: plain JSON values (Ansible's tagged and vaulted values resolved)."""
    try:
        from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder  # pylint: disable=import-outside-toplevel
    except ImportError:  # ansible-core < 2.19: no tagged values, the module encoder decrypts vaulted ones
        from ansible.module_utils.common.json import AnsibleJSONEncoder  # pylint: disable=import-outside-toplevel
        return json.loads(json.dumps(args, cls=AnsibleJSONEncoder, vault_to_text=True))
    return json.loads(json.dumps(args, cls=get_module_encoder("legacy", Direction.CONTROLLER_TO_MODULE)),
                      cls=get_module_decoder("legacy", Direction.CONTROLLER_TO_MODULE))


def reads_clusters_here(clusters, environ):
    """Whether every cluster can be read from this process: a kubeconfig with a token or a client certificate and no proxy
    (``_k8s_rest``'s own client), or the kubernetes client and kubernetes.core importable here."""
    if not _k8s_rest.HAS_YAML:
        return False
    if _k8s_client.HAS_KUBERNETES and _k8s_client.HAS_K8S_CORE:
        return True
    for cluster in clusters:
        auth, impersonation = _k8s_rest.auth_from_params(cluster, environ)
        if _k8s_rest.plain_kubeconfig(auth, impersonation, environ) is None:
            return False
    return True


class InProcessModuleAction(ActionBase):
    """The action plugin of a module whose work is ``execute(params, check_mode, warn)`` (module_utils._module_run).

    MODULE is the module's full name (run as a module where this process cannot run it); IMPLEMENTATION, the imported
    module, whose ``argument_spec()`` and ``execute()`` the defaults below call."""

    TRANSFERS_FILES = False
    MODULE = None
    IMPLEMENTATION = None

    def argument_spec(self):
        return self.IMPLEMENTATION.argument_spec()

    def usable_here(self, params, environ):  # pylint: disable=unused-argument
        """Whether what the module needs is importable in this process for these arguments."""
        return True

    def execute(self, params, environ, warn):  # pylint: disable=unused-argument
        return self.IMPLEMENTATION.execute(params, self._task.check_mode, warn)

    def secret_values(self, params):
        """Values to remove from the result beyond those of the no_log options: a kubeconfig dict's secrets. ``params`` are
        the raw arguments when they failed validation: read them with ``get`` and type checks."""
        return _k8s_client.sensitive_values(params)

    def _on_controller(self):
        return getattr(self._connection, "transport", None) == "local" and not self._play_context.become

    def _argument_failure(self, args, validation):
        """The failed result of arguments the module would refuse, with its message and the invocation, secrets removed."""
        msg = validation.errors.msg
        if isinstance(validation.errors[0], UnsupportedError):
            msg = "Unsupported parameters for (%s) module: %s" % (self.MODULE.rsplit(".", 1)[-1], msg)
        hidden = set(validation._no_log_values) | self.secret_values(args)  # pylint: disable=protected-access
        return remove_values({"failed": True, "changed": False, "msg": msg, "invocation": {"module_args": args}}, hidden)

    def run(self, tmp=None, task_vars=None):
        super(InProcessModuleAction, self).run(tmp, task_vars)
        if not self._on_controller():
            return self._execute_module(module_name=self.MODULE, module_args=self._task.args, task_vars=task_vars)
        self._task.args = args = as_module_args(self._task.args)
        validation = ArgumentSpecValidator(self.argument_spec()).validate(args)
        if validation.error_messages:
            return self._argument_failure(args, validation)
        params = validation.validated_parameters
        environ = dict(os.environ, **task_environment(self._templar, self._task.environment))
        if not self.usable_here(params, environ):
            return self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
        # This process is the worker forked for this task and host: the module process would see this environment.
        os.environ.update(environ)
        hidden = set(validation._no_log_values) | self.secret_values(params)  # pylint: disable=protected-access
        warnings = []
        try:
            result = self.execute(params, environ, warnings.append)
        except ModuleFailure as exc:
            result = dict(exc.result, failed=True, msg=exc.msg)
        if warnings:
            result["warnings"] = list(result.get("warnings") or []) + warnings
        # as AnsibleModule returns it (shown at -vvv), its secrets removed below
        result["invocation"] = {"module_args": params}
        result = remove_values(result, hidden)
        result.setdefault("changed", False)
        return result
