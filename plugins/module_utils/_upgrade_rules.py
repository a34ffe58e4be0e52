# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Version rules of a rolling upgrade, and its plan. PRIVATE to the collection.

Pure functions: no Ansible, no I/O. Versions are parsed by ``_validation.parse_istio_version`` (the one parser of the
collection). The rules, each refusal naming the host, the variable, the reason and the fix:

- Istio upgrades in place one minor version at a time: "The installed Istio version is no more than one minor version less
  than the upgrade version" (Istio, In-place Upgrades, IN_PLACE_UPGRADE_URL). The same bound applies to a downgrade.
- ztunnel and istio-cni at version 1.x work with a control plane at 1.x or 1.x+1, so istiod is upgraded first and the data
  plane may lag it by one minor, never lead it (Istio, ambient "Upgrade with Helm", AMBIENT_SKEW_URL). Checked on what runs
  now and on what runs while istiod is at the target and the data plane still at its current version.
- Features in use set minimums: a multicluster mesh needs Istio 1.24.3 (``_validation.MIN_MULTICLUSTER_ISTIO_VERSION``); a mesh
  that trusts several roots (a CA rotation) needs ztunnel 1.24.6, 1.25.3 or 1.26.0 and later (ztunnel PR 1510, which accepts
  several roots in its trust store; the istiod side, istio PR 55835, is in 1.24.5 and 1.25.2) and SPIRE 1.11 or later (the
  disk UpstreamAuthority re-reading its bundle at every mint and adding its roots, spire chart 0.24.2 = SPIRE 1.11.2).

The record of an upgrade (``record``) is what the upgrade keeps in the annotation RECORD_ANNOTATION of each cluster's
ServiceMeshController before its first write: the versions the cluster had (``from``, with the Helm revisions), the target,
and the phase. A rerun after a failed or interrupted upgrade starts from that ``from``, not from the half-upgraded cluster.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_versions import istio_version_of, several_roots
from ansible_collections.meshops.ambient_spire.plugins.module_utils._validation import (
    MIN_MULTICLUSTER_ISTIO_VERSION,
    parse_istio_version,
    problem,
)

IN_PLACE_UPGRADE_URL = "https://istio.io/latest/docs/setup/upgrade/in-place/"
AMBIENT_SKEW_URL = "https://istio.io/latest/docs/ambient/upgrade/helm/"
ZTUNNEL_MULTI_ROOT_URL = "https://github.com/istio/ztunnel/pull/1510"
# The first release of each minor whose ztunnel accepts several roots; every release from the last entry on does.
MULTI_ROOT_ISTIO_MINIMUMS = ((1, 24, 6), (1, 25, 3), (1, 26, 0))
MIN_MULTI_ROOT_SPIRE_VERSION = "1.11.0"
ISTIO = "istio"
PHASE_UPGRADING = "upgrading"
PHASE_FAILED = "failed"
PHASE_DONE = "done"
PHASE_ROLLED_BACK = "rolled-back"
UNFINISHED = (PHASE_UPGRADING, PHASE_FAILED)


def _text(version):
    return "%d.%d.%d" % version[:3]


def _minor(version):
    return "%d.%d" % version[:2]


def parse(version):
    """(major, minor, patch) of an Istio or chart version; the image flavours (-solo, -distroless) are ignored."""
    return parse_istio_version(istio_version_of(version)) if version is not None else None


def minor_distance(lower, upper):
    """upper's minor minus lower's, or None across major versions."""
    if lower[0] != upper[0]:
        return None
    return upper[1] - lower[1]


def jump_problem(host, variable, current, target):
    """More than one minor version between what runs and the target (either way)."""
    now, then = parse(current), parse(target)
    if now is None or then is None:
        return problem(host, variable, "cannot be compared with the version in use (%s -> %s)" % (current, target),
                       "give full MAJOR.MINOR.PATCH versions")
    distance = minor_distance(now, then)
    if distance is not None and abs(distance) <= 1:
        return None
    step = "%s.x" % ("%d.%d" % (now[0], now[1] + (1 if (distance or 1) > 0 else -1)))
    span = "a change of major version" if distance is None else "a jump of %d minor versions" % abs(distance)
    return problem(host, variable, "%s -> %s is %s (in use: %s): Istio upgrades in place one minor version at a time (%s)" % (
        current, target, span, current, IN_PLACE_UPGRADE_URL), "go to %s first, then to %s" % (step, target))


def skew_problems(host, variable, istiod_versions, dataplane_versions, target):
    """The ztunnel / istio-cni versions against istiod's: now, and while istiod runs the target and the data plane does not yet.

    dataplane_versions: {"ztunnel": [versions], "istio-cni": [versions]}.
    """
    problems = []
    then = parse(target)
    for component, versions in sorted(dataplane_versions.items()):
        for version in versions:
            data = parse(version)
            if data is None:
                continue
            for control in istiod_versions:
                control_parsed = parse(control)
                if control_parsed is None:
                    continue
                distance = minor_distance(data, control_parsed)
                if distance is None or distance < 0 or distance > 1:
                    problems.append(problem(host, variable, "cannot go on while %s %s runs with istiod %s: %s must be at istiod's minor version or "
                                                            "one older (%s)" % (component, version, control, component, AMBIENT_SKEW_URL),
                                            "bring %s and istiod within one minor version (istiod first) before this upgrade" % component))
            if then is None:
                continue
            distance = minor_distance(data, then)
            if distance is None or distance > 1:
                problems.append(problem(host, variable, "%s would leave %s %s more than one minor version behind istiod %s (%s)" % (
                    target, component, version, target, AMBIENT_SKEW_URL), "go one minor version at a time"))
            elif distance < 0:
                problems.append(problem(host, variable, "%s would put istiod below %s %s: %s may lag istiod by one minor version but never "
                                                        "lead it (%s)" % (target, component, version, component, AMBIENT_SKEW_URL),
                                        "downgrade within the minor version %s only" % _minor(data)))
    return problems


def multi_root_minimum(version):
    """The first version of this minor whose ztunnel accepts several roots (None: from there on, every one does)."""
    for floor in MULTI_ROOT_ISTIO_MINIMUMS:
        if version[:2] == floor[:2]:
            return floor
    return None if version[:2] > MULTI_ROOT_ISTIO_MINIMUMS[-1][:2] else MULTI_ROOT_ISTIO_MINIMUMS[0]


def minimum_problems(host, variable, target, multicluster, multi_root):
    """The target against what the features in use need."""
    then = parse(target)
    if then is None:
        return []
    problems = []
    floor = parse(MIN_MULTICLUSTER_ISTIO_VERSION)
    if multicluster and then < floor:
        problems.append(problem(host, variable, "%s is below %s, the minimum for a multicluster mesh (peers are in use)" % (
            target, MIN_MULTICLUSTER_ISTIO_VERSION), "use %s or later" % MIN_MULTICLUSTER_ISTIO_VERSION))
    if multi_root:
        need = multi_root_minimum(then)
        if need is not None and then < need:
            problems.append(problem(host, variable, "%s is below %s, the first %s release whose ztunnel accepts several roots, and several "
                                                    "roots are in use (a CA rotation; %s)" % (target, _text(need), _minor(need), ZTUNNEL_MULTI_ROOT_URL),
                                    "use %s or later" % _text(need)))
    return problems


def chart_problems(host, variable, key, current, target, multi_root, spire_release, spire_app_version=None):
    """A chart version change: both versions must parse; with several roots in use SPIRE must stay at 1.11 or later."""
    now, then = parse(current), parse(target)
    if then is None:
        return [problem(host, variable, "%r is not a chart version (release %s)" % (target, key), "give the exact chart version, e.g. 0.24.3")]
    if not (multi_root and spire_release):
        return []
    problems = []
    floor = parse(MIN_MULTI_ROOT_SPIRE_VERSION)
    running = parse(spire_app_version) if spire_app_version else None
    if running is not None and running < floor:
        problems.append(problem(host, variable, "SPIRE %s runs (release %s) while several roots are in use: SPIRE adds the roots of its "
                                                "upstream bundle at every mint from %s on" % (spire_app_version, key, MIN_MULTI_ROOT_SPIRE_VERSION),
                                "upgrade the spire chart to a release with SPIRE %s or later" % MIN_MULTI_ROOT_SPIRE_VERSION))
    if now is not None and then < now:
        problems.append(problem(host, variable, "%s -> %s downgrades the SPIRE chart while several roots are in use: the SPIRE version of "
                                                "the older chart cannot be checked before it runs (SPIRE %s or later is needed)" % (
                                                    current, target, MIN_MULTI_ROOT_SPIRE_VERSION),
                                "finish the CA rotation first, or keep chart %s" % current))
    return problems


def _versions(state):
    return list((state or {}).get("versions") or [])


def _from(read):
    """The versions a cluster had before any upgrade: its unfinished record's, else what it runs."""
    smc = read.get("smc") or {}
    record = smc.get("record") or {}
    if record.get("phase") in UNFINISHED and isinstance(record.get("from"), dict):
        return record["from"], record
    releases = {}
    for key, state in (read.get("helm") or {}).items():
        if state.get("present"):
            releases[key] = {"version": state.get("deployed_version") or state.get("version"), "revision": state.get("deployed_revision")}
    return {ISTIO: smc.get("version"), "releases": releases}, None


def plan_cluster(host, read, desired, multicluster=False, multi_root=False):
    """The plan of one cluster: from, to, the changes, the install roles to run, the refusals.

    read: a cluster of mesh_versions_info; desired: {"istio": {"variable", "version"},
    "releases": [{"key" (or "namespace" and "name"), "variable", "version", "role", "spire": bool}]}.
    """
    entry = {"host": host, "cluster": read.get("cluster") or host, "changes": [], "roles": [], "refusals": []}
    if read.get("failed"):
        entry["refusals"].append(problem(host, "kube_context", "could not be read: %s" % read.get("msg"), "fix the connection, then run again"))
        return entry
    smc = read.get("smc") or {}
    if not smc.get("present"):
        entry["refusals"].append(problem(host, "gloo_operator_smc_name", "ServiceMeshController %s not found: the mesh is not installed" % (
            smc.get("name")), "install it first (site.yml); an upgrade changes versions of an installed mesh"))
        return entry
    start, record = _from(read)
    entry["resumed"] = record is not None
    if record is not None:
        entry["record"] = {"phase": record.get("phase"), "reason": record.get("reason"), "to": record.get("to"), "started": record.get("started")}
    entry["from"] = start
    target = {ISTIO: desired[ISTIO]["version"], "releases": {}}
    istio_from = start.get(ISTIO)
    if str(istio_from) != str(target[ISTIO]):
        entry["changes"].append({"component": ISTIO, "variable": desired[ISTIO]["variable"], "from": istio_from, "to": target[ISTIO]})
    for release in desired.get("releases") or []:
        key = release.get("key") or "%s/%s" % (release["namespace"], release["name"])
        target["releases"][key] = release["version"]
        state = (read.get("helm") or {}).get(key) or {}
        before = (start.get("releases") or {}).get(key) or {}
        if not state.get("present") and not before:
            entry["refusals"].append(problem(host, release["variable"], "targets Helm release %s, which is not installed" % key,
                                             "install it first (site.yml)"))
            continue
        if str(before.get("version")) != str(release["version"]):
            entry["changes"].append({"component": key, "variable": release["variable"], "from": before.get("version"), "to": release["version"],
                                     "role": release.get("role")})
            entry["refusals"] += chart_problems(host, release["variable"], key, before.get("version"), release["version"], multi_root,
                                                release.get("spire"), state.get("app_version"))
    entry["to"] = target
    entry["expect"] = {"to": target, "from": {ISTIO: start.get(ISTIO), "releases": dict(
        (key, before.get("version")) for key, before in (start.get("releases") or {}).items() if key in target["releases"])}}
    entry["from_text"] = _target_text(entry["expect"]["from"])
    entry["to_text"] = _target_text(target)
    roles = []
    for change in entry["changes"]:
        role = "gloo_operator" if change["component"] == ISTIO else change.get("role")
        if role and role not in roles:
            roles.append(role)
    entry["roles"] = roles
    entry["summary"] = "; ".join("%s %s -> %s" % (c["variable"], c["from"], c["to"]) for c in entry["changes"]) or "up to date"
    if not entry["changes"]:
        return entry
    variable = desired[ISTIO]["variable"]
    istio = read.get("istio") or {}
    istiod = _versions(istio.get("istiod")) or ([istio_from] if istio_from else [])
    dataplane = dict((name, _versions(istio.get(name))) for name in ("ztunnel", "istio-cni"))
    if any(c["component"] == ISTIO for c in entry["changes"]):
        jump = jump_problem(host, variable, istio_from, target[ISTIO])
        if jump:
            entry["refusals"].append(jump)
        elif record is None:
            entry["refusals"] += skew_problems(host, variable, istiod, dataplane, target[ISTIO])
    entry["refusals"] += minimum_problems(host, variable, target[ISTIO], multicluster, multi_root)
    return entry


def batches(hosts, canary, size):
    """The canary alone, then batches of ``size`` in host order."""
    order = [canary] + [h for h in hosts if h != canary] if canary in hosts else list(hosts)
    size = max(int(size), 1)
    if not order:
        return []
    return [order[:1]] + [order[i:i + size] for i in range(1, len(order), size)]


def plan_mesh(reads, desired, hosts, canary=None, batch=1, inventory_size=None):
    """The whole plan: one entry per host (in host order), the batches, every refusal.

    reads: {host: cluster read}; desired: {host: desired}; hosts: the targeted hosts in inventory order; inventory_size: the
    clusters of the inventory (a mesh of several is multicluster even before its peers are read).
    """
    refusals = []
    canary = canary or (hosts[0] if hosts else None)
    if canary not in hosts:
        refusals.append(problem("all", "upgrade_canary", "%r is not one of the clusters of this run (%s)" % (canary, ", ".join(hosts)),
                                "name a targeted cluster, or leave it unset for the first cluster of the inventory"))
    try:
        size = int(batch)
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        refusals.append(problem("all", "upgrade_batch", "%r is not a positive number of clusters" % (batch,), "set upgrade_batch: 1 or more"))
        size = 1
    multicluster = (inventory_size or len(hosts)) > 1 or any((r.get("peers") or 0) > 0 for r in reads.values())
    multi_root = any(not r.get("failed") and several_roots(r) for r in reads.values())
    clusters = [plan_cluster(h, reads.get(h) or {"failed": True, "msg": "not read"}, desired[h], multicluster, multi_root) for h in hosts]
    for entry in clusters:
        refusals += entry["refusals"]
    changing = [e["host"] for e in clusters if e["changes"]]
    # The canary goes first when it changes; when it is up to date, the first cluster that changes goes alone first.
    first = canary if canary in changing else (changing[0] if changing else None)
    groups = batches(changing, first, size) if first else []
    for number, group in enumerate(groups):
        for host in group:
            entry = next(e for e in clusters if e["host"] == host)
            entry["batch"] = number + 1
            entry["canary"] = number == 0
    return {"clusters": clusters, "batches": groups, "order": [h for group in groups for h in group], "serial": [1, size],
            "refusals": refusals, "canary": canary, "first": first, "multicluster": multicluster, "multi_root": multi_root,
            "resumed": [e["host"] for e in clusters if e.get("resumed")], "changing": changing,
            "expect_to": dict((e["host"], e["expect"]["to"]) for e in clusters if "expect" in e),
            "expect_from": dict((e["host"], e["expect"]["from"]) for e in clusters if "expect" in e)}


def plan_lines(plan):
    """The plan as text: which cluster goes from which version to which, batch by batch, and the clusters left as they are."""
    lines = []
    by_host = dict((e["host"], e) for e in plan["clusters"])
    if plan.get("canary") and plan.get("first") and plan["canary"] != plan["first"]:
        lines.append("canary %s is up to date: %s goes alone first" % (plan["canary"], plan["first"]))
    for number, group in enumerate(plan["batches"]):
        lines.append("batch %d%s: %s" % (number + 1, " (canary)" if number == 0 else "", ", ".join(group)))
        for host in group:
            entry = by_host[host]
            parts = ["%s %s -> %s" % (c["variable"], c["from"], c["to"]) for c in entry["changes"]]
            note = ""
            if entry.get("resumed"):
                note = " (resumes the %s upgrade to %s recorded on the cluster)" % (entry["record"]["phase"], _target_text(entry["record"].get("to")))
            lines.append("  %s: %s%s" % (host, "; ".join(parts), note))
    unchanged = [e["host"] for e in plan["clusters"] if not e["changes"] and not e["refusals"]]
    if unchanged:
        lines.append("up to date: %s" % ", ".join(unchanged))
    if not plan["batches"] and not plan["refusals"]:
        lines.append("nothing to upgrade")
    if plan["refusals"]:
        lines.append("refused (%d):" % len(plan["refusals"]))
        lines.extend("  %s" % r for r in plan["refusals"])
    return lines


def _target_text(target):
    if not isinstance(target, dict):
        return "?"
    parts = []
    if target.get(ISTIO):
        parts.append("Istio %s" % target[ISTIO])
    parts += ["%s %s" % (key.split("/", 1)[-1], version) for key, version in sorted((target.get("releases") or {}).items())]
    return ", ".join(parts) or "?"


def record(phase, entry, time, previous=None, reason=None, started=None):
    """The annotation value of an upgrade record: phase, from (versions and Helm revisions before the upgrade), to, times.

    ``started``: when this run started the cluster's upgrade; a resumed upgrade keeps the start of the recorded one.
    """
    previous = previous or {}
    same_upgrade = previous.get("phase") in UNFINISHED and previous.get("to") == entry["to"]
    result = {"phase": phase, "from": entry["from"], "to": entry["to"], "batch": entry.get("batch"),
              "started": (previous.get("started") if same_upgrade else None) or started or time, "updated": time}
    if reason:
        result["reason"] = reason
    return result
