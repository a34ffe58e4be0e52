#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: k8s_apply
short_description: Converge one cluster's manifests in one process, with server-side apply, and wait until they are ready
version_added: 1.1.0
description:
  - Reads every object of O(src) and O(definitions) and server-side applies (field manager O(field_manager), conflicts
    forced) only those the cluster does not hold as given. A converged cluster gets reads only, no write; an object
    deleted or edited out of band is applied again. Fields this manager applied before and no longer applies count as a
    change (apply removes them).
  - Compares Secrets given by a digest of their data (O(secrets)), so that the data travel only through a task that
    runs with C(no_log); returns those to apply in RV(secrets_to_apply).
  - Reads the records of Helm releases (O(releases)) and says which are converged (last revision deployed, same chart,
    version and values digest) in RV(releases). With O(helm), installs or upgrades the others itself, in order, with one
    C(helm upgrade --install --atomic --wait) each, after forgetting the revisions an interrupted run left pending or
    failed (O(helm.recover_pending)); without it they are left to a Helm task (RV(deferred)).
  - When neither a Secret nor a release is left to other tasks (RV(deferred) false), applies O(after_releases) and waits
    for O(wait) (pods of components, conditions and fields of the applied objects, the workloads of the converged
    releases as C(helm --wait) judges them), re-reading every O(wait.delay) seconds up to O(wait.retries) times; it
    returns RV(ready) and RV(not_ready), and fails with O(wait.fail_message) when it is set and they are not ready.
  - In check mode sends no write, not even a dry run; RV(changes) lists the objects that would change, with their field
    paths; objects whose kind is not served yet (its CRD would be created first) are listed as created.
  - Never returns Secret data; in diff mode the values of Secrets' data are hidden.
  - Transient API errors (connection resets, timeouts, 429 and 5xx answers, conflicts of the apply) are retried
    O(api_attempts) times, O(api_retry_delay) seconds apart; a failure says what failed, and RV(attempts).
  - The connection options are those of C(kubernetes.core) (same meaning, same C(K8S_AUTH_*) environment variables). A
    kubeconfig with a token or client certificate is read without the kubernetes client (much cheaper to start).
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.ambient_spire._attributes
  - meshops.ambient_spire._attributes.idempotent
attributes:
  action_group:
    description: Use C(group/meshops.ambient_spire.k8s) in C(module_defaults) to set the connection options.
    support: full
    membership:
      - meshops.ambient_spire.k8s
options:
  cluster:
    description: Name of the cluster in messages (the inventory host).
    type: str
  src:
    description:
      - Files (paths on the host that runs the module) or C(http(s)) URLs of multi-document YAML manifests, applied first,
        in order.
    type: list
    elements: str
    default: []
  definitions:
    description: Manifests applied in order, after O(src). A Secret given here carries its data, so run such a task with C(no_log).
    type: list
    elements: dict
    default: []
  secrets:
    description: Secrets compared by a digest of their data (filter C(meshops.ambient_spire.k8s_digest)), never applied here.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the Secret.
        type: str
        required: true
      namespace:
        description: Namespace of the Secret.
        type: str
        required: true
      type:
        description: Type of the Secret.
        type: str
        default: Opaque
      labels:
        description: Labels the Secret must have.
        type: dict
      annotations:
        description: Annotations the Secret must have.
        type: dict
      data_digest:
        description: C(data | meshops.ambient_spire.k8s_digest) of the data (base64 values) the Secret must hold.
        type: str
        required: true
  releases:
    description: Helm releases whose records are compared with a chart, a version and a digest of the values.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Release name.
        type: str
        required: true
      namespace:
        description: Release namespace.
        type: str
        required: true
      chart_ref:
        description: Chart reference (a name, C(repo/name), an C(oci://) reference or a local directory, whose Chart.yaml gives name and version).
        type: str
        required: true
      chart_version:
        description: Chart version; without it (and without a local chart) a release is never taken as converged.
        type: str
      chart_repo_url:
        description: Chart repository of a chart given by name (C(helm --repo)), for O(helm).
        type: str
      create_namespace:
        description: Create the release namespace when it is missing (C(helm --create-namespace)), for O(helm).
        type: bool
        default: false
      values:
        description:
          - The release values, which O(helm) installs (written to a file only the user can read, deleted afterwards).
          - Run a task whose values carry a secret (a license key) with C(no_log).
        type: dict
      values_digest:
        description:
          - C(values | meshops.ambient_spire.k8s_digest) of the release values, to compare without the values in the task's
            arguments; by default the digest of O(releases[].values). One of the two is required.
        type: str
  helm:
    description:
      - Install or upgrade the O(releases) that are not converged, in this run, when no Secret of O(secrets) is left to
        apply. Helm reaches the cluster with the connection options, as C(kubernetes.core.helm) passes them. In check mode
        nothing runs; RV(changes) lists the releases that would be installed or upgraded.
    type: dict
    suboptions:
      binary_path:
        description: The helm binary (default C(helm) in E(PATH)).
        type: path
      timeout:
        description: C(helm --timeout) of each install or upgrade (a Go duration).
        type: str
        default: 5m
      recover_pending:
        description:
          - Forget (delete the records of) revisions left C(pending-*), C(failed) or C(uninstalling) by an interrupted run before
            Helm runs, so that it goes on from the last deployed revision or installs afresh. When false, such a revision
            fails the run, naming it.
        type: bool
        default: true
  after_releases:
    description: Manifests applied once every release is converged and every Secret holds its data (else RV(deferred)).
    type: list
    elements: dict
    default: []
  prune:
    description: Delete the objects of a kind in a namespace whose name starts with O(prune[].name_prefix) and is not in O(prune[].keep).
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: apiVersion of the objects.
        type: str
        required: true
      kind:
        description: Kind of the objects.
        type: str
        required: true
      namespace:
        description: Namespace of the objects.
        type: str
      name_prefix:
        description: Only objects whose name starts with it.
        type: str
        default: ""
      match_fields:
        description: Only objects with these values at these dotted paths (C(spec.gatewayClassName) -> C(istio-remote)).
        type: dict
        default: {}
      keep:
        description: Names to keep.
        type: list
        elements: str
        default: []
  wait:
    description: What must be ready, checked when nothing is deferred.
    type: dict
    suboptions:
      retries:
        description: Reads before giving up (the first one right away).
        type: int
        default: 30
      delay:
        description: Seconds between reads.
        type: int
        default: 2
      on_change_only:
        description: Wait only when this run changed something.
        type: bool
        default: false
      pods:
        description: Components whose pods must all be Ready (at least one each).
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Name of the component in RV(not_ready).
            type: str
            required: true
          namespace:
            description: Namespace of its pods.
            type: str
            required: true
          labels:
            description: Labels that select its pods.
            type: dict
            required: true
      objects:
        description: Rules for the applied objects of a kind.
        type: list
        elements: dict
        default: []
        suboptions:
          kind:
            description: Kind of the objects.
            type: str
            required: true
          api_version:
            description: Their apiVersion (any when unset).
            type: str
          name:
            description: Only this object.
            type: str
          condition:
            description: A condition (C(type), C(status), default C(True)) the objects must have.
            type: dict
          fields:
            description: Dotted paths (C(status.stats)) that must be set.
            type: list
            elements: str
            default: []
          all:
            description:
              - Every object of the kind on the cluster (listed at each read), not only those this run applied; for
                example the ClusterSPIFFEIDs a chart rendered beside the applied ones. Needs O(wait.objects[].api_version).
            type: bool
            default: false
          namespace:
            description: With O(wait.objects[].all), only the objects of this namespace.
            type: str
          match_fields:
            description: With O(wait.objects[].all), only the objects with these values at these dotted paths (C(spec.className)).
            type: dict
            default: {}
      releases:
        description: Wait for the workloads (Deployments, StatefulSets, DaemonSets) of the converged O(releases).
        type: bool
        default: true
      fail_message:
        description:
          - When set, a wait that times out fails the run with this message, C({not_ready}) replaced by what was not ready at
            the last read (joined with C(, )); RV(not_ready) and RV(objects) are returned with the failure. Not in check mode.
          - Without it the run does not fail; RV(ready) is false.
        type: str
  field_manager:
    description: Field manager of the server-side apply.
    type: str
    default: meshops.ambient_spire
  api_attempts:
    description: Attempts of every request on transient errors.
    type: int
    default: 3
  api_retry_delay:
    description: Seconds between those attempts.
    type: int
    default: 3
  request_timeout:
    description: Seconds a request may take.
    type: int
    default: 30
requirements:
  - PyYAML
  - kubernetes >= 24.2.0 (Python library), for connections other than a kubeconfig with a token or a client certificate
seealso:
  - module: kubernetes.core.k8s
'''

EXAMPLES = r'''
- name: Namespace and east-west Gateway, waiting until the Gateway is Programmed with an address
  meshops.ambient_spire.k8s_apply:
    kubeconfig: "{{ kubeconfig_path }}"
    context: "{{ kube_context }}"
    cluster: "{{ inventory_hostname }}"
    definitions:
      - {apiVersion: v1, kind: Namespace, metadata: {name: istio-eastwest}}
      - "{{ eastwest_gateway_manifest }}"
    wait:
      objects:
        - kind: Gateway
          condition: {type: Programmed}
          fields: [status.addresses]
  register: eastwest_applied

- name: Which Secrets differ, without the data in this task's arguments
  meshops.ambient_spire.k8s_apply:
    cluster: "{{ inventory_hostname }}"
    secrets:
      - name: cacerts
        namespace: istio-system
        data_digest: "{{ cacerts_data | meshops.ambient_spire.k8s_digest }}"
  register: compared

- name: Apply them (the data only here, with no_log)
  meshops.ambient_spire.k8s_apply:
    cluster: "{{ inventory_hostname }}"
    definitions:
      - {apiVersion: v1, kind: Secret, type: Opaque, metadata: {name: cacerts, namespace: istio-system}, data: "{{ cacerts_data }}"}
  when: compared.secrets_to_apply | length > 0
  no_log: true
'''

RETURN = r'''
changes:
  description: What changed (or would change in check mode), in order. Secret data never appear, only their key names.
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: ClusterSPIFFEID, api_version: spire.spiffe.io/v1alpha1, name: istio-ztunnel-reg, action: create, fields: []}
    - {kind: Namespace, api_version: v1, name: istio-system, action: update, fields: ["metadata.labels['topology.istio.io/network']"]}
    - {kind: HelmRelease, name: spire, namespace: spire-server, action: upgrade, fields: [values differ]}
secrets_to_apply:
  description: The O(secrets) (C(namespace/name)) that do not hold their data, type or metadata.
  returned: always
  type: list
  elements: str
releases:
  description: Per release of O(releases), C(state) (C(missing), C(deployed) or the last revision's status), C(revision), C(chart), C(converged) and C(reasons).
  returned: always
  type: dict
helm:
  description: Per release that O(helm) installed or upgraded, C(command) (without the values), C(forgotten) (records of
    revisions left pending or failed that were deleted first) and C(attempts).
  returned: when Helm ran
  type: dict
deferred:
  description: A Secret or a release is left to other tasks; O(after_releases) and O(wait) were not done.
  returned: always
  type: bool
ready:
  description: Whether everything O(wait) names was ready (null when there was no wait).
  returned: always
  type: bool
not_ready:
  description: What was not ready at the last read, for example C(istiod 0/1) or a Gateway without its C(Programmed) condition.
  returned: when waited
  type: list
  elements: str
wait:
  description: C(attempts) (reads) and C(seconds) of the wait.
  returned: when waited
  type: dict
objects:
  description: C(kind), C(name), C(namespace) and C(status) of the applied objects that O(wait.objects) covers.
  returned: when O(wait) is set
  type: list
  elements: dict
api:
  description:
    - C(requests) and C(writes) sent to the API server by this run, and C(retries), the requests sent again after a transient
      error (a warning names the last one).
  returned: always
  type: dict
attempts:
  description: Attempts of the request that failed.
  returned: failure
  type: int
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import K8sAuthModule
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_apply, _k8s_rest


def _fetch_url(module):
    def fetch(url):
        from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel
        return open_url(url, timeout=module.params["request_timeout"]).read()
    return fetch


class ApplyModule(K8sAuthModule):
    """Masks the connection secrets (K8sAuthModule) and the data of Secrets among the manifests, before anything is validated."""

    def _load_params(self):
        super(ApplyModule, self)._load_params()
        self.no_log_values.update(_k8s_apply.secret_data_values(self.params))


def main():
    module = ApplyModule(argument_spec=_k8s_apply.argument_spec(), supports_check_mode=True)
    if not _k8s_rest.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    result = _k8s_apply.converge(module.params, check_mode=module.check_mode, diff=module._diff, fetch_url=_fetch_url(module),
                                 run_command=lambda argv, env: module.run_command(argv, environ_update=env))
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
