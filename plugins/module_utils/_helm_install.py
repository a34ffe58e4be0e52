# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install or upgrade a Helm release with one ``helm upgrade --install``: k8s_apply's Helm step. PRIVATE to the collection.

k8s_apply has already read the release records (``_k8s_state.release_state``), so the run needs no ``helm list``,
``helm show chart`` or ``helm get values`` before the install, nor a ``helm status`` after it (kubernetes.core.helm runs
them all, each a process): one helm process per release that differs. A revision that an interrupted run left pending or
failed is forgotten first (its record deleted) when ``recover_pending`` allows it, so that Helm goes on from the last
deployed revision, or installs afresh.

Helm reaches the cluster with the task's connection options, as kubernetes.core.helm passes them: ``KUBECONFIG`` (a
kubeconfig given as a dict is written to a file only the user can read, deleted afterwards), ``HELM_KUBECONTEXT``,
``HELM_KUBEAPISERVER``, ``HELM_KUBETOKEN``, ``HELM_KUBECAFILE``, ``HELM_KUBEINSECURE_SKIP_TLS_VERIFY``, and the
impersonation flags. The values go through a file only the user can read, deleted afterwards: never on the command line.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import tempfile

# Statuses of a last revision that block or fool the next install: helm refuses to upgrade over pending-*, and an install
# that failed half-way is "converged" to a naive comparison of chart and values.
RECOVERABLE_STATUSES = ("pending-install", "pending-upgrade", "pending-rollback", "failed", "uninstalling")
DEFAULT_TIMEOUT = "5m"
OUTPUT_TAIL = 1500


class HelmError(Exception):
    """helm failed (after its attempts), or a revision left behind may not be forgotten."""


def _private_file(content, suffix):
    handle, path = tempfile.mkstemp(prefix="meshops-helm-", suffix=suffix)
    with os.fdopen(handle, "w") as out:
        out.write(content)
    return path


def helm_environment(auth, impersonation):
    """(environment variables, command-line flags, files to delete) that point helm at the connection of kubernetes.core's
    auth options (``_k8s_rest.auth_from_params``: the kubernetes client's names)."""
    env, flags, files = {}, [], []
    kubeconfig = auth.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        path = _private_file(json.dumps(kubeconfig), ".json")
        files.append(path)
        env["KUBECONFIG"] = path
    elif kubeconfig:
        env["KUBECONFIG"] = os.path.expanduser(str(kubeconfig))
    for name, variable in (("context", "HELM_KUBECONTEXT"), ("host", "HELM_KUBEAPISERVER"), ("api_key", "HELM_KUBETOKEN"),
                           ("ssl_ca_cert", "HELM_KUBECAFILE")):
        if auth.get(name):
            env[variable] = str(auth[name])
    if auth.get("verify_ssl") is False:
        env["HELM_KUBEINSECURE_SKIP_TLS_VERIFY"] = "true"
    user = impersonation.get("Impersonate-User")
    if user:
        flags += ["--kube-as-user", user]
    groups = impersonation.get("Impersonate-Group") or []
    for group in [groups] if isinstance(groups, str) else groups:
        flags += ["--kube-as-group", group]
    return env, flags, files


def upgrade_command(binary, release, values_path, timeout, flags=()):
    """The argv of an atomic ``helm upgrade --install`` that waits until the release is ready."""
    argv = [binary, "upgrade", "--install", release["name"], release["chart_ref"], "--namespace", release["namespace"],
            "--values", values_path, "--atomic", "--wait", "--timeout", str(timeout or DEFAULT_TIMEOUT)]
    if release.get("chart_version"):
        argv += ["--version", str(release["chart_version"])]
    if release.get("chart_repo_url"):
        argv += ["--repo", release["chart_repo_url"]]
    if release.get("create_namespace"):
        argv.append("--create-namespace")
    return argv + list(flags)


def blocking_records(records):
    """Names of the release records whose status blocks or fools the next install (RECOVERABLE_STATUSES)."""
    return sorted(((record.get("metadata") or {}).get("name")) for record in records
                  if (((record.get("metadata") or {}).get("labels") or {}).get("status")) in RECOVERABLE_STATUSES)


def failure_text(rc, out, err):
    """The end of what helm said, for a message (helm's last lines carry the reason)."""
    text = (err or "").strip() or (out or "").strip() or "no output"
    return "exit %s: %s" % (rc, text[-OUTPUT_TAIL:])


class HelmInstaller(object):
    """Installs the releases of one cluster with ``run_command(argv, env) -> (rc, stdout, stderr)``.

    ``records(release)`` lists the release's record Secrets; ``forget(name, namespace)`` deletes one (k8s_apply's API).
    """

    def __init__(self, run_command, binary, env, flags, timeout=DEFAULT_TIMEOUT, recover_pending=True, attempts=1, delay=0,
                 sleep=None):
        self.run_command = run_command
        self.binary = binary or "helm"
        self.env = env
        self.flags = flags
        self.timeout = timeout
        self.recover_pending = recover_pending
        self.attempts = max(int(attempts or 1), 1)
        self.delay = delay
        self.sleep = sleep

    def _recover(self, release, records, forget):
        blocking = blocking_records(records(release))
        if not blocking:
            return []
        if not self.recover_pending:
            raise HelmError("release %s/%s: revisions %s are left pending or failed by an interrupted run; forget them "
                            "(kubectl delete secret -n %s ...) or allow it (helm.recover_pending)"
                            % (release["namespace"], release["name"], ", ".join(blocking), release["namespace"]))
        for name in blocking:
            forget(name, release["namespace"])
        return blocking

    def install(self, release, records, forget):
        """helm upgrade --install of one release, after forgetting what blocks it; retried on failure (helm's atomic
        rollback left the release as it was). Returns {command, forgotten, attempts}."""
        values_path = _private_file(json.dumps(release.get("values") or {}), ".json")
        forgotten = []
        try:
            argv = upgrade_command(self.binary, release, values_path, self.timeout, self.flags)
            failure = None
            for attempt in range(1, self.attempts + 1):
                forgotten += self._recover(release, records, forget)
                rc, out, err = self.run_command(argv, self.env)
                if rc == 0:
                    return {"command": " ".join(argv), "forgotten": forgotten, "attempts": attempt}
                failure = failure_text(rc, out, err)
                if attempt < self.attempts and self.sleep is not None:
                    self.sleep(self.delay)
            raise HelmError("helm upgrade --install %s in %s failed after %d attempt(s), %s"
                            % (release["name"], release["namespace"], self.attempts, failure))
        finally:
            os.unlink(values_path)
