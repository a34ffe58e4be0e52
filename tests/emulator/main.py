"""Command line: serve (foreground), up (background, returns when every cluster answers), down, status, fault, admin."""

import argparse
import asyncio
import base64
import faulthandler
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml
from aiohttp import web

from emulator import admin, authz, discovery, tlsutil
from emulator.cluster import Emulator
from emulator.server import ClusterApp

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_DIR = os.path.join(ROOT, ".emulator")


def kubeconfig(emulator, ca_pem):
    """A kubeconfig with one context per cluster (context name = cluster name), plus one context <user>@<cluster> per
    extra user given at start (--users)."""
    ca = base64.b64encode(ca_pem).decode()
    names = list(emulator.clusters)
    extra = [(n, u) for n, c in emulator.clusters.items() for u in c.users.listing() if u["token"] != c.token]
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": names[0],
        "clusters": [{"name": n, "cluster": {"server": "https://127.0.0.1:%d" % c.port, "certificate-authority-data": ca}}
                     for n, c in emulator.clusters.items()],
        "users": [{"name": n, "user": {"token": c.token}} for n, c in emulator.clusters.items()]
        + [{"name": "%s@%s" % (u["name"], n), "user": {"token": u["token"]}} for n, u in extra],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n, "namespace": "default"}} for n in names]
        + [{"name": "%s@%s" % (u["name"], n), "context": {"cluster": n, "user": "%s@%s" % (u["name"], n), "namespace": "default"}}
           for n, u in extra],
    }


def _per_cluster(spec, names, what):
    """{cluster: value} from "VALUE" (every cluster) and/or "cluster=VALUE" items, comma-separated."""
    values = {}
    for item in [i.strip() for i in (spec or "").split(",") if i.strip()]:
        cluster, sep, value = item.partition("=")
        if not sep:
            values.update({n: item for n in names})
        elif cluster not in names:
            raise SystemExit("%s: unknown cluster %r (clusters: %s)" % (what, cluster, ", ".join(names)))
        else:
            values[cluster] = value
    return values


def cluster_options(names, versions=None, storage_classes=None, users_file=None):
    """Per-cluster options of Emulator() from the command line (see --kubernetes-version, --default-storage-class, --users)."""
    options = {n: {} for n in names}
    for name, version in _per_cluster(versions, names, "--kubernetes-version").items():
        try:
            discovery.version_info(version)
        except ValueError as exc:
            raise SystemExit("--kubernetes-version: %s" % exc) from exc
        options[name]["version"] = version
    for name, storage_class in _per_cluster(storage_classes, names, "--default-storage-class").items():
        options[name]["storage_class"] = None if storage_class.lower() in ("none", "") else storage_class
    if users_file:
        with open(users_file, encoding="utf-8") as handle:
            users = yaml.safe_load(handle) or []
        for name in names:
            options[name]["users"] = users if isinstance(users, list) else (users.get(name) or [])
            for user in options[name]["users"]:
                try:
                    if not isinstance(user, dict) or not user.get("name"):
                        raise ValueError("every user needs a name")
                    authz.validate_rules(user.get("rules"))
                except ValueError as exc:
                    raise SystemExit("--users %s: %s" % (users_file, exc)) from exc
    return options


def _write_atomic(path, text, mode=0o600):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def parse_settings(items):
    """{key: value} of KEY=VALUE strings (values decoded as YAML: 0.5, true, null, [a, b]); ValueError names a bad one."""
    settings = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError("--set takes KEY=VALUE, not %r" % item)
        try:
            settings[key.strip()] = yaml.safe_load(value) if value else None
        except yaml.YAMLError as exc:
            raise ValueError("--set %s: the value is not valid YAML (%s)" % (key, exc)) from exc
    return settings


async def serve(state_dir, names, kubeconfig_path, nodes=2, options=None, settings=None):
    """Run every cluster until SIGTERM/SIGINT; writes state.json and the kubeconfig once listening."""
    os.makedirs(state_dir, exist_ok=True)
    ca_pem, cert, key = tlsutil.generate(state_dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    emulator = Emulator(names, nodes, options)
    emulator.ca_pem = ca_pem.decode()
    emulator.settings = dict(settings or {})
    admin.setup(emulator)
    emulator.load_controllers()
    emulator.start()
    runners = []
    for cluster in emulator.clusters.values():
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        cluster.port = sock.getsockname()[1]
        runner = web.AppRunner(ClusterApp(emulator, cluster).app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.SockSite(runner, sock, ssl_context=context, shutdown_timeout=0.5).start()
        runners.append(runner)
    _write_atomic(kubeconfig_path, yaml.safe_dump(kubeconfig(emulator, ca_pem), sort_keys=False))
    state = {"pid": os.getpid(), "kubeconfig": os.path.abspath(kubeconfig_path), "ca": os.path.join(state_dir, "ca.crt"),
             "admin_token": emulator.admin_token,
             "clusters": {n: {"port": c.port, "token": c.token, "server": "https://127.0.0.1:%d" % c.port,
                              "version": c.version["gitVersion"], "default_storage_class": c.storage_class,
                              "users": {u["name"]: u["token"] for u in c.users.listing() if u["token"] != c.token}}
                          for n, c in emulator.clusters.items()}}
    _write_atomic(os.path.join(state_dir, "state.json"), json.dumps(state, indent=2))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    emulator.stop()
    for runner in runners:
        await runner.cleanup()
    os.unlink(os.path.join(state_dir, "state.json"))


def load_state(state_dir):
    """state.json of a running emulator, or None."""
    try:
        with open(os.path.join(state_dir, "state.json"), encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return None
    try:
        os.kill(state["pid"], 0)
    except OSError:
        return None
    return state


class AdminError(Exception):
    """An admin route answered an error."""


def admin_call(state, cluster, method, path, body=None, timeout=10):
    """Call an admin route of one cluster; returns the decoded JSON answer."""
    info = state["clusters"][cluster]
    context = ssl.create_default_context(cafile=state["ca"])
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(info["server"] + path, data=data, method=method, headers={
        "Authorization": "Bearer " + state["admin_token"], "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message")
        except ValueError:
            message = None
        raise AdminError("%s %s on %s: %s %s" % (method, path, cluster, exc.code, message or exc.reason)) from exc
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode()


def _answers(state):
    for name in state["clusters"]:
        try:
            admin_call(state, name, "GET", "/_emulator/status", timeout=2)
        except (OSError, urllib.error.URLError):
            return False
    return True


def cmd_up(args):
    """Start the background process and wait until every cluster answers."""
    state_dir = os.path.abspath(args.state_dir)
    if load_state(state_dir):
        print("emulator already running (state in %s); run `down` first" % state_dir, file=sys.stderr)
        return 1
    os.makedirs(state_dir, exist_ok=True)
    # bad options fail here, with their message, rather than in the background process
    cluster_options([n.strip() for n in args.clusters.split(",") if n.strip()], args.kubernetes_version, args.default_storage_class,
                    args.users)
    kube = os.path.abspath(args.kubeconfig or os.path.join(state_dir, "kubeconfig"))
    os.makedirs(os.path.dirname(kube), exist_ok=True)
    paths = [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    try:
        parse_settings(args.set)
    except ValueError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    log_path = os.path.join(state_dir, "emulator.log")
    with open(log_path, "ab") as log:
        start = log.tell()
        proc = subprocess.Popen(  # pylint: disable=consider-using-with  # runs on in the background
            [sys.executable, "-m", "emulator", "--state-dir", state_dir, "serve", "--clusters", args.clusters,
             "--kubeconfig", kube, "--nodes", str(args.nodes)] + _passed_options(args) + ["--set=" + s for s in args.set or ()],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        state = load_state(state_dir)
        if state and state["pid"] == proc.pid and _answers(state):
            print("emulator up (pid %d): %s; kubeconfig %s" % (proc.pid, ", ".join(
                "%s=%s" % (n, c["server"]) for n, c in state["clusters"].items()), kube))
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    print("emulator did not come up; see %s" % log_path, file=sys.stderr)
    with open(log_path, "rb") as log:
        log.seek(start)
        errors = [line for line in log.read().decode(errors="replace").splitlines() if "Error" in line or "error" in line]
    if errors:
        print("\n".join(errors[-5:]), file=sys.stderr)
    if proc.poll() is None:
        proc.terminate()
    return 1


def _passed_options(args):
    passed = []
    for flag, value in (("--kubernetes-version", args.kubernetes_version), ("--default-storage-class", args.default_storage_class),
                        ("--users", os.path.abspath(args.users) if args.users else None)):
        if value is not None:
            passed += [flag, value]
    return passed


def cmd_down(args):
    """Stop the background process."""
    state = load_state(os.path.abspath(args.state_dir))
    if not state:
        print("emulator not running")
        return 0
    os.kill(state["pid"], signal.SIGTERM)
    for _attempt in range(100):
        try:
            os.kill(state["pid"], 0)
        except OSError:
            print("emulator stopped")
            return 0
        time.sleep(0.05)
    os.kill(state["pid"], signal.SIGKILL)
    print("emulator killed")
    return 0


def _need_state(args):
    state = load_state(os.path.abspath(args.state_dir))
    if not state:
        raise SystemExit("emulator not running (no live state in %s)" % args.state_dir)
    return state


PROBE_ROUTE = "/_emulator/mesh/probe"


def _probe(state, method="GET"):
    """The cross-cluster probe of the simulated mesh (None when no controller serves it)."""
    try:
        return admin_call(state, next(iter(state["clusters"])), method, PROBE_ROUTE)
    except AdminError as exc:
        if " 404 " in str(exc):
            return None
        raise


def cmd_status(args):
    """Per cluster: objects, requests, writes; and the mesh probe (under "probe" in --json)."""
    state = _need_state(args)
    rows = []
    for name in state["clusters"]:
        status = admin_call(state, name, "GET", "/_emulator/status")
        rows.append((name, status))
    probe = _probe(state)
    if args.json:
        doc = dict(rows)
        if probe is not None:
            doc["probe"] = probe
        print(json.dumps(doc, indent=2))
        return 0
    print("%-12s %-24s %8s %9s %7s %8s  %s" % ("CLUSTER", "SERVER", "OBJECTS", "REQUESTS", "WRITES", "DRY-RUNS", "FAULTS"))
    for name, status in rows:
        faults = ",".join("%s=%s" % kv for kv in sorted(status["faults"].items())) or "-"
        print("%-12s %-24s %8d %9d %7d %8d  %s" % (
            name, state["clusters"][name]["server"], status["objects"], status["requests"], status["writes"],
            status["dry_runs"], faults))
    if probe is not None:
        _print_probe(probe)
    return 0


def _print_probe(probe):
    pairs = probe.get("pairs") or {}
    print("probe: %d pairs, %d ok, %d failed (every %ss)" % (len(pairs), probe.get("ok", 0), probe.get("failed", 0), probe.get("interval")))
    for pair, row in sorted(pairs.items()):
        last = row.get("last_failure") or {}
        print("  %-28s ok=%-7d failed=%-5d %s" % (pair, row["ok"], row["failed"], "%s %s" % (last.get("time"), last.get("reason")) if last else ""))


def cmd_probe(args):
    """The mesh's cross-cluster probe: show (default), --json, or reset (zero every counter)."""
    state = _need_state(args)
    probe = _probe(state, "DELETE" if args.action == "reset" else "GET")
    if probe is None:
        print("no probe: the mesh simulation is not loaded", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(probe, indent=2))
    else:
        _print_probe(probe)
    return 0


def cmd_fault(args):
    """Set (KEY=VALUE ...) or clear the API faults of one cluster (or all)."""
    state = _need_state(args)
    body = {}
    for item in args.settings:
        if item == "clear":
            body = None
            break
        key, _sep, value = item.partition("=")
        body[key.replace("-", "_")] = yaml.safe_load(value) if value else True
    names = list(state["clusters"]) if args.cluster == "all" else [args.cluster]
    for name in names:
        path = "/_emulator/faults"
        answer = admin_call(state, name, "DELETE" if body is None else "POST", path, body)
        print("%s: %s" % (name, json.dumps(answer)))
    return 0


def cmd_admin(args):
    """Call any admin route: admin CLUSTER METHOD /_emulator/PATH [JSON]."""
    state = _need_state(args)
    body = json.loads(args.body) if args.body else None
    print(json.dumps(admin_call(state, args.cluster, args.method.upper(), args.path, body), indent=2))
    return 0


def main(argv=None):
    """Entry point of `python -m emulator` and scripts/emulator."""
    parser = argparse.ArgumentParser(prog="emulator", description="Emulated multi-cluster Kubernetes API")
    parser.add_argument("--state-dir", default=os.environ.get("EMULATOR_STATE_DIR", DEFAULT_DIR),
                        help="where state.json, the CA and the log live (default: .emulator in the repository)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "serve"):
        cmd = sub.add_parser(name, help="start in the background" if name == "up" else "run in the foreground")
        cmd.add_argument("--clusters", default="cluster1,cluster2")
        cmd.add_argument("--kubeconfig", help="kubeconfig to write (default: STATE_DIR/kubeconfig)")
        cmd.add_argument("--nodes", type=int, default=2, help="Nodes per cluster")
        cmd.add_argument("--timeout", type=float, default=30.0)
        cmd.add_argument("--kubernetes-version", help="version /version and the Nodes report: VERSION for every cluster and/or "
                                                      "CLUSTER=VERSION items, comma-separated (default 1.33.1), e.g. 1.29 or cluster2=v1.30.2")
        cmd.add_argument("--default-storage-class", help="default StorageClass: NAME or none, for every cluster and/or CLUSTER=NAME|none "
                                                         "items (default: standard, local-path provisioner, WaitForFirstConsumer)")
        cmd.add_argument("--users", help="YAML/JSON file of extra users: a list [{name, rules, groups, token}] for every cluster, or "
                                         "{cluster: [...]}; rules [{verbs, apiGroups, resources, resourceNames, namespaces}], "
                                         "null = cluster-admin; each gets a context <name>@<cluster>")
        cmd.add_argument("--set", action="append", metavar="KEY=VALUE",
                         help="a controller setting, repeatable (e.g. the mesh's kubelet_sync=0.5, probe_interval=0.2; see "
                              "tests/emulator/mesh/README.md)")
    sub.add_parser("down", help="stop")
    status = sub.add_parser("status", help="objects, requests and writes per cluster")
    status.add_argument("--json", action="store_true")
    fault = sub.add_parser("fault", help="API faults: fault CLUSTER|all error_rate=0.5 error_code=500 latency_ms=200 "
                                         "reset_rate=0.2 outage token_revoked conflict_rate=1 fail_next=3 | fault CLUSTER clear")
    fault.add_argument("cluster")
    fault.add_argument("settings", nargs="+")
    probe = sub.add_parser("probe", help="the mesh's cross-cluster probe: probe [show|reset] [--json]")
    probe.add_argument("action", nargs="?", choices=("show", "reset"), default="show")
    probe.add_argument("--json", action="store_true")
    adm = sub.add_parser("admin", help="call an admin route: admin CLUSTER METHOD PATH [JSON]")
    adm.add_argument("cluster")
    adm.add_argument("method")
    adm.add_argument("path")
    adm.add_argument("body", nargs="?")
    args = parser.parse_args(argv)
    if args.command == "serve":
        faulthandler.register(signal.SIGUSR1)   # `kill -USR1 <pid>` writes every thread's stack to emulator.log
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        names = [n.strip() for n in args.clusters.split(",") if n.strip()]
        kube = os.path.abspath(args.kubeconfig or os.path.join(args.state_dir, "kubeconfig"))
        options = cluster_options(names, args.kubernetes_version, args.default_storage_class, args.users)
        try:
            settings = parse_settings(args.set)
        except ValueError as exc:
            parser.error(str(exc))
        asyncio.run(serve(os.path.abspath(args.state_dir), names, kube, args.nodes, options, settings))
        return 0
    command = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "fault": cmd_fault, "admin": cmd_admin,
               "probe": cmd_probe}[args.command]
    try:
        return command(args)
    except AdminError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
