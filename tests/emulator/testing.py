"""Starting and driving an emulator from tests (used by tests/integration/conftest.py)."""

import json
import os
import subprocess
import sys
import tempfile

from emulator import main as cli

ROOT = cli.ROOT
TOOLS = os.path.join(ROOT, ".tools", "bin")


class EmulatorHandle:
    """A running emulator (a background process started with `up` in its own state directory)."""

    def __init__(self, clusters, base_dir=None, nodes=2, kubernetes_version=None, default_storage_class=None, users=None,
                 settings=None):
        """kubernetes_version / default_storage_class: the `up` options ("1.29", "cluster2=1.30", "none"...); users: a list
        of users for every cluster or {cluster: [users]} (see --users); settings: `up --set KEY=VALUE` controller settings
        (the mesh's, tests/emulator/mesh/README.md)."""
        self.base_dir = base_dir or tempfile.mkdtemp(prefix="emulator-")
        self.state_dir = os.path.join(self.base_dir, "state")
        self.kubeconfig = os.path.join(self.base_dir, "kubeconfig")
        self.tmpdir = os.path.join(self.base_dir, "tmp")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.clusters = list(clusters)
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
        options = []
        if kubernetes_version:
            options += ["--kubernetes-version", kubernetes_version]
        if default_storage_class:
            options += ["--default-storage-class", default_storage_class]
        if users is not None:
            path = os.path.join(self.base_dir, "users.json")
            with open(path, "w", encoding="utf-8") as out:
                json.dump(users, out)
            options += ["--users", path]
        subprocess.run([sys.executable, "-m", "emulator", "--state-dir", self.state_dir, "up", "--clusters",
                        ",".join(self.clusters), "--kubeconfig", self.kubeconfig, "--nodes", str(nodes)] + options
                       + ["--set=%s=%s" % (k, json.dumps(v)) for k, v in sorted((settings or {}).items())],
                       check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        self.state = cli.load_state(self.state_dir)

    def env(self, **extra):
        """Environment for client processes: tools on PATH, KUBECONFIG, a private TMPDIR."""
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, TMPDIR=self.tmpdir,
                   PATH=os.pathsep.join([TOOLS, os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
        env.update(extra)
        return env

    def _run(self, tool, args, context, check, stdin):
        cmd = [os.path.join(TOOLS, tool), "--kubeconfig", self.kubeconfig]
        if context:
            cmd += ["--kube-context" if tool == "helm" else "--context", context]
        return subprocess.run(cmd + list(args), env=self.env(), input=stdin, capture_output=True, text=True,
                              check=check, timeout=120)

    def kubectl(self, *args, context=None, check=True, stdin=None):
        """Run kubectl against this emulator; returns the CompletedProcess."""
        return self._run("kubectl", args, context, check, stdin)

    def add_user(self, cluster, name, rules, groups=None):
        """A new bearer token of one cluster for a user limited to rules ([{verbs, apiGroups, resources, [namespaces]}];
        None = cluster-admin); returns the token (use it with kubectl --token)."""
        return self.admin(cluster, "POST", "/_emulator/rbac/users", {"name": name, "rules": rules, "groups": groups or []})["token"]

    def helm(self, *args, context=None, check=True):
        """Run helm against this emulator; returns the CompletedProcess."""
        return self._run("helm", args, context, check, None)

    def client(self, cluster):
        """A kubernetes.client.ApiClient for one cluster."""
        from kubernetes import config  # pylint: disable=import-outside-toplevel  # only tests that use it need it
        return config.new_client_from_config(config_file=self.kubeconfig, context=cluster, persist_config=False)

    def admin(self, cluster, method, path, body=None):
        """Call an admin route."""
        return cli.admin_call(self.state, cluster, method, path, body)

    def status(self, cluster):
        """Counters of one cluster (objects, requests, writes, dry_runs...)."""
        return self.admin(cluster, "GET", "/_emulator/status")

    def fault(self, cluster, **settings):
        """Merge API fault settings."""
        return self.admin(cluster, "POST", "/_emulator/faults", settings)

    def clear_faults(self, cluster):
        """Remove every API fault."""
        return self.admin(cluster, "DELETE", "/_emulator/faults")

    def stop(self):
        """Stop the emulator process."""
        cli.cmd_down(type("Args", (), {"state_dir": self.state_dir})())

    def __repr__(self):
        return "EmulatorHandle(%s)" % json.dumps({n: c["server"] for n, c in self.state["clusters"].items()})
