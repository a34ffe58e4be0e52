# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling CA rotation: its state, its plan and its gates, as pure functions. PRIVATE to the collection.

A rotation has an id (``rotate_ca_id``) and a scope:

- ``intermediates``: every chosen cluster gets new intermediates from the same root (phase ``issue`` only);
- ``root``: a new root B replaces root A in three phases (the sequence published for istiod's cacerts, with SPIRE's
  additive bundle): ``trust`` (B added to every trust store of every cluster), ``issue`` (cluster by cluster,
  intermediates from B), ``drop`` (A removed from every trust store; SPIRE keeps A in its bundle until A expires).

Its state is kept on every cluster of the rotation, in the ConfigMap ``meshops-ca-rotation`` of the istiod namespace (key
``state.json``: id, scope, the rotation's clusters, the roots as fingerprints, the fingerprints of the intermediates
before and after, the phases done on that cluster, when it finished), and in the PKI store (files: ``rotations/<id>/``
under ``pki_dir``). ``plan()`` reads both and decides what is left; nothing in the controller's memory is needed to resume.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

STATE_CONFIGMAP = 'meshops-ca-rotation'
STATE_KEY = 'state.json'
MANAGED_BY = {'app.kubernetes.io/managed-by': 'meshops.ambient_spire', 'app.kubernetes.io/component': 'ca-rotation'}
# The pod template annotation of `kubectl rollout restart`, which operators leave alone: the rotation sets it to a value of its
# own (restart_value) to roll ztunnel and the east-west gateways once per rotation and phase, and no more on a rerun.
RESTART_ANNOTATION = 'kubectl.kubernetes.io/restartedAt'
SCOPES = ('intermediates', 'root')
PHASES = {'intermediates': ('issue',), 'root': ('trust', 'issue', 'drop')}
PHASE_TITLES = {'trust': 'phase 1/3 (trust: the new root joins every trust store)',
                'issue': 'issue (new intermediates, cluster by cluster)',
                'drop': 'phase 3/3 (drop: the old root leaves the trust stores)'}
ID_PATTERN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$')
# Versions that accept several roots (rotation facts): ztunnel PR #1510 from 1.24.6 / 1.25.3 / 1.26.0; istiod istio#55835
# from 1.24.5 / 1.25.2; SPIRE's localauthority/upstreamauthority CLI of 1.11.
ZTUNNEL_MIN = ((1, 24, 6), (1, 25, 3), (1, 26, 0))
ISTIOD_MIN = ((1, 24, 5), (1, 25, 2), (1, 26, 0))
SPIRE_MIN = (1, 11, 0)


def restart_value(rotation_id, phase):
    """The restart annotation's value for one rotation and phase."""
    return 'meshops.ambient_spire ca-rotation %s %s' % (rotation_id, phase)


def phase_title(scope, phase):
    """How messages name a phase."""
    if scope == 'intermediates':
        return 'issue (new intermediates from the same root)'
    return PHASE_TITLES[phase] if phase != 'issue' else 'phase 2/3 (issue: intermediates from the new root, cluster by cluster)'


def version_tuple(text):
    """(major, minor, patch) of '1.25.5-patch1', 'v1.11.2', 'docker.io/x/pilot:1.25.5-patch1-solo' (None when unknown)."""
    text = str(text or '')
    if ':' in text:
        text = text.rsplit(':', 1)[-1]
    match = re.match(r'^v?(\d+)\.(\d+)(?:\.(\d+))?', text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def supports(version, minimums):
    """Whether a version is at least the minimum of its minor line (lines newer than the last minimum always are)."""
    if version is None:
        return None
    for minimum in minimums:
        if version[:2] == minimum[:2]:
            return version >= minimum
    return version[:2] > minimums[-1][:2]


def short(fp):
    """First 16 hex digits of a fingerprint."""
    return (fp or '')[:16]


def root_name(root):
    """'<CN>' (SHA256 <16 hex>) of a certificate info dict."""
    if not root:
        return '(none)'
    return "'%s' (SHA256 %s)" % (root.get('subject'), short(root.get('sha256')))


def load_state(text):
    """A state dict from the ConfigMap's state.json text (None when absent or unreadable)."""
    if not text:
        return None
    try:
        state = json.loads(text)
    except ValueError:
        return None
    return state if isinstance(state, dict) and state.get('id') else None


def dump_state(state):
    """The state.json text (sorted keys: a rewrite of the same state is no change)."""
    return json.dumps(state, sort_keys=True, separators=(',', ':'))


def new_state(rotation_id, scope, clusters, root_from, root_to, root_to_pem, before, started):
    """The state a cluster gets when the rotation starts (every phase pending)."""
    return {'id': rotation_id, 'scope': scope, 'clusters': list(clusters), 'started': started, 'finished': None,
            'root_from': root_from, 'root_to': root_to, 'root_to_pem': root_to_pem, 'before': before, 'after': {},
            'phases': dict((p, 'pending') for p in PHASES[scope])}


def with_phase_done(state, phase, after=None):
    """The state once a phase is done on its cluster (after: fingerprints of the new intermediates)."""
    out = dict(state)
    out['phases'] = dict(state.get('phases') or {}, **{phase: 'done'})
    if after:
        out['after'] = dict(state.get('after') or {}, **after)
    return out


def finished(state, when):
    """The state of a finished rotation."""
    return dict(state, finished=state.get('finished') or when)


def validate_options(options):
    """Input errors of the playbook's variables, before anything is read."""
    errors = []
    scope = options.get('scope')
    if scope not in SCOPES:
        errors.append("rotate_ca_scope must be intermediates or root, not %r" % (scope,))
    if scope == 'root' and not options.get('confirm_root'):
        errors.append("rotate_ca_scope=root replaces the root of the whole mesh: set rotate_ca_confirm_root=true to confirm")
    rid = options.get('id')
    if not rid:
        errors.append("rotate_ca_id is empty: name the rotation (a change ticket, a date); the same id resumes it, a new id starts another")
    elif not ID_PATTERN.match(str(rid)):
        errors.append("rotate_ca_id %r must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit" % (rid,))
    try:
        batch = int(options.get('batch', 1))
    except (TypeError, ValueError):
        batch = 0
    if batch < 1:
        errors.append("rotate_ca_batch must be a number of clusters >= 1, not %r" % (options.get('batch'),))
    days = options.get('expiring_within_days')
    if days not in (None, ''):
        try:
            if int(days) < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors.append("rotate_ca_expiring_within_days must be a number of days >= 0, not %r" % (days,))
        if scope == 'root':
            errors.append("rotate_ca_expiring_within_days applies to rotate_ca_scope=intermediates only")
    return errors


def _active(states):
    """{id: [hosts]} of the unfinished rotations found on the clusters."""
    active = {}
    for host, state in states.items():
        if state and not state.get('finished'):
            active.setdefault(state['id'], []).append(host)
    return active


def due_clusters(infos, hosts, days, now_epoch):
    """The hosts whose istiod or SPIRE intermediate expires within `days` days (or is missing)."""
    horizon = now_epoch + int(days) * 86400
    due = []
    for host in hosts:
        info = infos[host]
        for kind in ('istio', 'spire'):
            cert = (info.get(kind) or {}).get('certificate')
            if not cert or int(cert.get('not_after_epoch') or 0) <= horizon:
                due.append(host)
                break
    return due


def plan(infos, options, store_state=None):
    """What the rotation does now.

    ``infos``: {host: what ca_rotation_info read from that cluster} for the targeted hosts, in order; ``options``: id,
    scope, confirm_root, batch, expiring_within_days, now (epoch), now_iso, mesh_hosts (every host of the mesh), root (the
    store's current root: an info dict), new_root (the new root's info, root scope: given or already generated; None when
    the store will generate it), store (files|inventory); ``store_state``: the files store's rotations ({id: state}).

    Returns {action (start|resume|finished|nothing_due|refuse), errors, id, scope, hosts (the rotation's hosts), phases
    ({phase: [hosts left]}), finish (bool), root_from, root_to, before ({host: {istio, spire}}), states ({host: state to
    write at the start}), generate_root (bool), lines (the plan, readable)}.
    """
    errors = list(validate_options(options))
    rid, scope = options.get('id'), options.get('scope')
    hosts = list(infos)
    result = {'action': 'refuse', 'errors': errors, 'id': rid, 'scope': scope, 'hosts': [], 'phases': {}, 'finish': False,
              'root_from': None, 'root_to': None, 'before': {}, 'states': {}, 'generate_root': False, 'lines': [],
              'batch': options.get('batch') or 1}
    if errors:
        return result
    unread = [h for h in hosts if infos[h].get('error')]
    if unread:
        errors.extend("cluster %s cannot be read: %s" % (infos[h].get('cluster') or h, infos[h]['error']) for h in unread)
        return result
    states = dict((h, infos[h].get('state')) for h in hosts)
    store_state = store_state or {}
    active = _active(states)
    store_active = sorted(i for i, s in store_state.items() if s and not s.get('finished'))
    others = sorted(set(active) | set(store_active))
    if len(others) > 1:
        errors.append("several unfinished CA rotations: %s; resume each with its rotate_ca_id, one at a time" % ', '.join(others))
        return result
    if others and others[0] != rid:
        where = ', '.join(infos[h].get('cluster') or h for h in active.get(others[0], [])) or 'the PKI store'
        errors.append("the CA rotation %s is not finished (%s): resume it with rotate_ca_id=%s before starting %s" % (
            others[0], where, others[0], rid))
        return result
    known = [s for s in states.values() if s and s.get('id') == rid] + ([store_state[rid]] if store_state.get(rid) else [])
    if known:
        return _resume(infos, options, states, known, result)
    return _start(infos, options, states, result)


def _resume(infos, options, states, known, result):
    errors = result['errors']
    rid, scope = options['id'], options['scope']
    first = known[0]
    if first.get('scope') != scope:
        errors.append("rotation %s has scope %s, not %s: resume it with rotate_ca_scope=%s" % (rid, first.get('scope'), scope, first.get('scope')))
        return result
    rotation_hosts = [h for h in infos if (infos[h].get('cluster') or h) in (first.get('clusters') or [])]
    missing = [c for c in first.get('clusters') or [] if c not in [infos[h].get('cluster') or h for h in infos]]
    if missing:
        errors.append("rotation %s covers %s: include every one of them in the run (target_clusters/--limit)" % (rid, ', '.join(missing)))
        return result
    new_root = options.get('new_root')
    if scope == 'root' and new_root and first.get('root_to') and new_root.get('sha256') != first['root_to'].get('sha256'):
        errors.append("rotation %s moves to root %s, but the new root given is %s: give the same root to resume it (a rotation never makes a "
                      "third root)" % (rid, root_name(first['root_to']), root_name(new_root)))
        return result
    root_to = first.get('root_to') or (new_root if scope == 'root' else first.get('root_from'))
    root_to_pem = first.get('root_to_pem') or (options.get('new_root_pem') if scope == 'root' else None)
    result.update(root_from=first.get('root_from'), root_to=root_to, hosts=rotation_hosts)
    if all(states.get(h) and states[h].get('id') == rid and states[h].get('finished') for h in rotation_hosts):
        result['action'] = 'finished'
        clusters = ', '.join(infos[h].get('cluster') or h for h in rotation_hosts)
        result['lines'] = ["rotation %s (%s) finished on %s: nothing to do" % (rid, scope, clusters)]
        return result
    result['action'] = 'resume'
    for host in rotation_hosts:
        state = states.get(host)
        if not state or state.get('id') != rid:
            # the rotation was cut off before this cluster's state was written: nothing was changed there yet
            result['states'][host] = new_state(rid, scope, first.get('clusters'), first.get('root_from'), root_to, root_to_pem,
                                               _before(infos[host]), first.get('started') or options.get('now_iso'))
    for phase in PHASES[scope]:
        result['phases'][phase] = [h for h in rotation_hosts if ((states.get(h) or {}).get('phases') or {}).get(phase) != 'done'
                                   or (states.get(h) or {}).get('id') != rid]
    result['before'] = dict((h, (states.get(h) or {}).get('before') or _before(infos[h])) for h in rotation_hosts)
    result['finish'] = True
    result['generate_root'] = scope == 'root' and not root_to
    result['lines'] = _lines(infos, result)
    return result


def _before(info):
    return dict((kind, ((info.get(kind) or {}).get('certificate') or {}).get('sha256')) for kind in ('istio', 'spire'))


def _start(infos, options, states, result):
    errors = result['errors']
    rid, scope = options['id'], options['scope']
    hosts = list(infos)
    root = options.get('root')
    if not root:
        errors.append("the PKI store has no root (pki_store %s): run playbooks/pki.yml first" % options.get('store'))
        return result
    if scope == 'root':
        mesh = options.get('mesh_hosts') or hosts
        left_out = [h for h in mesh if h not in hosts]
        if left_out:
            errors.append("a root rotation covers every cluster of the mesh: %s %s left out (target_clusters/--limit)" % (
                ', '.join(left_out), 'is' if len(left_out) == 1 else 'are'))
    for host in hosts:
        info = infos[host]
        name = info.get('cluster') or host
        for kind, secret in (('istio', 'cacerts'), ('spire', 'spiffe-upstream-ca')):
            view = info.get(kind) or {}
            if not view.get('present'):
                errors.append("cluster %s has no Secret %s: install it first (playbooks/site.yml)" % (name, secret))
            elif root.get('sha256') not in [a.get('sha256') for a in view.get('anchors') or []]:
                errors.append("cluster %s: the trust anchors of Secret %s (%s) do not hold the PKI store's root %s: the cluster is under another "
                              "root; fix the PKI store (pki_root_ca_cert / pki_dir) first" % (
                                  name, secret, ', '.join(root_name(a) for a in view.get('anchors') or []) or 'none', root_name(root)))
            elif len(view.get('anchors') or []) > 1:
                errors.append("cluster %s: Secret %s trusts several roots (%s) outside any rotation: leave only %s (playbooks/site.yml) first" % (
                    name, secret, ', '.join(root_name(a) for a in view['anchors']), root_name(root)))
    if errors:
        return result
    selected = hosts
    days = options.get('expiring_within_days')
    if scope == 'intermediates' and days not in (None, ''):
        selected = due_clusters(infos, hosts, days, options.get('now') or 0)
        if not selected:
            result['action'] = 'nothing_due'
            result['lines'] = ["no intermediate expires within %s day(s) on %s: nothing to rotate" % (days, ', '.join(
                infos[h].get('cluster') or h for h in hosts))]
            return result
    new_root = options.get('new_root') if scope == 'root' else root
    if scope == 'root' and new_root and new_root.get('sha256') == root.get('sha256'):
        errors.append("the new root %s is the current root: give another root (rotate_ca_new_root_cert)" % root_name(root))
        return result
    clusters = [infos[h].get('cluster') or h for h in selected]
    result.update(action='start', hosts=selected, root_from=root, root_to=new_root, finish=True)
    result['generate_root'] = scope == 'root' and not new_root
    result['before'] = dict((h, _before(infos[h])) for h in selected)
    for host in selected:
        result['states'][host] = new_state(rid, scope, clusters, root, new_root, options.get('new_root_pem') if scope == 'root' else None,
                                           result['before'][host], options.get('now_iso'))
    for phase in PHASES[scope]:
        result['phases'][phase] = list(selected)
    result['lines'] = _lines(infos, result)
    return result


def _lines(infos, result):
    """The plan, readable (what --check prints)."""
    scope, rid = result['scope'], result['id']
    lines = ["rotation %s (%s): %s, %d cluster(s), root %s%s" % (
        rid, scope, 'resumed' if result['action'] == 'resume' else 'starts', len(result['hosts']), root_name(result['root_from']),
        (" -> %s" % (root_name(result['root_to']) if result['root_to'] else 'a new root (generated in the PKI store)')) if scope == 'root' else '')]
    for phase in PHASES[scope]:
        left = result['phases'].get(phase) or []
        names = [infos[h].get('cluster') or h for h in left]
        if not left:
            lines.append("%s: done" % phase_title(scope, phase))
            continue
        lines.append("%s: %s" % (phase_title(scope, phase), ', '.join(names)))
        for host in left:
            info = infos[host]
            name = info.get('cluster') or host
            istio, spire = (info.get('istio') or {}), (info.get('spire') or {})
            anchors = dict((k, ', '.join(short(a.get('sha256')) for a in (info.get(k) or {}).get('anchors') or [])) for k in ('istio', 'spire'))
            new_fp = short((result['root_to'] or {}).get('sha256')) or 'new root'
            old_fp = short((result['root_from'] or {}).get('sha256'))
            if phase == 'trust':
                lines.append("  %s: cacerts root-cert.pem [%s] -> [%s, %s]; spiffe-upstream-ca bundle.crt [%s] -> [%s, %s]; SPIRE prepares "
                             "(its bundle gains the new root); ztunnel and east-west gateways restart" % (
                                 name, anchors['istio'], old_fp, new_fp, anchors['spire'], old_fp, new_fp))
            elif phase == 'issue':
                lines.append("  %s: cacerts ca-cert.pem %s -> new (from %s); spiffe-upstream-ca tls.crt %s -> new (from %s); SPIRE prepares "
                             "and activates; ztunnel and east-west gateways restart" % (
                                 name, short((istio.get('certificate') or {}).get('sha256')), new_fp if scope == 'root' else old_fp,
                                 short((spire.get('certificate') or {}).get('sha256')), new_fp if scope == 'root' else old_fp))
            else:
                lines.append("  %s: cacerts root-cert.pem and spiffe-upstream-ca bundle.crt -> [%s] (SPIRE keeps %s in its bundle until it "
                             "expires)" % (name, new_fp, old_fp))
    lines.append("gates: after each batch of %s cluster(s) the new material must be in use, then the mesh check must pass" % result['batch'])
    return lines


# ---- gates ----------------------------------------------------------------------------------------------------------------
def gate_unmet(info, expect):
    """Why a cluster is not yet where a gate expects it (empty when it is). ``expect`` keys (all optional):
    istiod_roots (the fingerprints every istio-ca-root-cert ConfigMap must hold, exactly), spire_bundle_roots (fingerprints
    SPIRE's published bundle must hold), istiod_ca_not_after (epoch: every ready istiod reports that CA expiry),
    rolled (the restart annotation value every ztunnel and east-west gateway pod must carry, ready)."""
    unmet = []
    if info.get('error'):
        return ["cluster cannot be read: %s" % info['error']]
    wanted = expect.get('istiod_roots')
    if wanted:
        maps = info.get('root_configmaps') or {}
        if not maps:
            unmet.append("no istio-ca-root-cert ConfigMap yet")
        bad = sorted(ns for ns, fps in maps.items() if sorted(fps) != sorted(wanted))
        if bad:
            unmet.append("istio-ca-root-cert in %s holds [%s], not [%s] (istiod has not loaded the new root-cert.pem yet)" % (
                ', '.join(bad[:3]) + (' and %d more' % (len(bad) - 3) if len(bad) > 3 else ''),
                ', '.join(short(f) for f in maps[bad[0]]), ', '.join(short(f) for f in wanted)))
    wanted = expect.get('spire_bundle_roots')
    if wanted:
        bundle = info.get('spire_bundle')
        if bundle is None:
            unmet.append("SPIRE's published bundle (ConfigMap spire-bundle) not found")
        else:
            lacking = [f for f in wanted if f not in bundle]
            if lacking:
                unmet.append("SPIRE's published bundle lacks %s" % ', '.join(short(f) for f in lacking))
    wanted = expect.get('istiod_ca_not_after')
    if wanted:
        pods = [p for p in (info.get('istiod') or {}).get('pods') or [] if p.get('ready')]
        if not pods:
            unmet.append("no ready istiod pod")
        for pod in pods:
            got = pod.get('ca_not_after')
            if got is None:
                unmet.append("istiod %s does not report its CA (metric citadel_server_cert_chain_expiry_timestamp): %s" % (
                    pod.get('name'), pod.get('metrics_error') or 'not found'))
            elif int(got) != int(wanted):
                unmet.append("istiod %s still issues with the CA valid until %s (the new one is valid until %s)" % (
                    pod.get('name'), got, wanted))
    wanted = expect.get('rolled')
    if wanted:
        for workload in info.get('workloads') or []:
            pods = workload.get('pods') or []
            stale = [p['name'] for p in pods if p.get('annotation') != wanted or not p.get('ready')]
            if not pods or stale or workload.get('rolling'):
                unmet.append("%s %s/%s not rolled yet (%s)" % (workload.get('kind'), workload.get('namespace'), workload.get('name'),
                                                               'pods not restarted or not ready: %s' % ', '.join(stale[:3]) if stale else
                                                               'rollout in progress' if pods else 'no pods'))
    return unmet


def precheck(infos):
    """Errors that stop the rotation before any write (besides the mesh check): versions that cannot hold several roots, no SPIRE
    server to run its CLI in. MULTIROOT missing on istiod is not an error: the role sets it."""
    errors = []
    for host, info in infos.items():
        name = info.get('cluster') or host
        ztunnel = version_tuple((info.get('ztunnel') or {}).get('version'))
        if supports(ztunnel, ZTUNNEL_MIN) is False:
            errors.append("cluster %s: ztunnel %s keeps one root only (several roots from 1.24.6, 1.25.3, 1.26.0): upgrade Istio first" % (
                name, '.'.join(str(p) for p in ztunnel)))
        istiod = version_tuple((info.get('istiod') or {}).get('version'))
        if supports(istiod, ISTIOD_MIN) is False:
            errors.append("cluster %s: istiod %s does not push several roots to ztunnel (istio#55835: from 1.24.5, 1.25.2): upgrade Istio first" % (
                name, '.'.join(str(p) for p in istiod)))
        server = info.get('spire_server') or {}
        if not server.get('pod'):
            errors.append("cluster %s: no ready SPIRE server pod in %s: the rotation makes SPIRE mint through its CLI" % (
                name, server.get('namespace') or 'spire-server'))
        version = version_tuple(server.get('image'))
        if version is not None and version < SPIRE_MIN:
            errors.append("cluster %s: SPIRE server %s lacks 'localauthority x509 prepare/activate' as used here (1.11 or later): upgrade SPIRE "
                          "first" % (name, '.'.join(str(p) for p in version)))
    return errors
