"""Workload fidelity (issue 14, item 4): defaults of workload specs, status fields, Jobs that run Pods, Helm hook Jobs,
Deployment revision history. Each test states what a v1.33 API server (with its controllers) answers."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
from kube import condition, kubectl_json, ok, request, wait_for, wait_value

pytestmark = pytest.mark.slow

NS = "fidelity"
TEMPLATE = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


@pytest.fixture(scope="module")
def ns(emulator):
    ok(emulator, "cluster1", "POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
    yield NS
    request(emulator, "cluster1", "DELETE", "/api/v1/namespaces/" + NS)


def _post(handle, path, obj):
    return ok(handle, "cluster1", "POST", path, obj)


def test_workload_specs_read_back_with_the_servers_defaults(emulator, ns):
    """A real server fills these on create (pkg/apis/{apps,batch,core}/v1/defaults.go and the Pod admission plugins)."""
    sts = _post(emulator, "/apis/apps/v1/namespaces/%s/statefulsets" % ns, {"metadata": {"name": "d-sts"}, "spec": {
        "serviceName": "d-sts", "selector": {"matchLabels": {"app": "x"}}, "template": TEMPLATE,
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                                         "resources": {"requests": {"storage": "1Gi"}}}}]}})
    spec = sts["spec"]
    assert spec["replicas"] == 1
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["podManagementPolicy"] == "OrderedReady" and spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert spec["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    assert spec["volumeClaimTemplates"][0]["status"] == {"phase": "Pending"}
    pod_spec = spec["template"]["spec"]
    assert {k: pod_spec[k] for k in ("restartPolicy", "dnsPolicy", "terminationGracePeriodSeconds", "schedulerName", "securityContext")} == {
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
        "schedulerName": "default-scheduler", "securityContext": {}}
    assert pod_spec["containers"][0] == {"name": "c", "image": "nginx", "imagePullPolicy": "Always", "resources": {},
                                         "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}

    dep = _post(emulator, "/apis/apps/v1/namespaces/%s/deployments" % ns, {"metadata": {"name": "d-dep"}, "spec": {
        "selector": {"matchLabels": {"app": "x"}}, "template": dict(TEMPLATE, spec={"containers": [
            {"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
             "readinessProbe": {"httpGet": {"port": 80}}}]})}})
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["revisionHistoryLimit"] == 10
    assert dep["spec"]["progressDeadlineSeconds"] == 600
    assert dep["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent" and container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert container["readinessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                           "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}

    ds = _post(emulator, "/apis/apps/v1/namespaces/%s/daemonsets" % ns, {"metadata": {"name": "d-ds"}, "spec": {
        "selector": {"matchLabels": {"app": "x"}}, "template": TEMPLATE}})
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["spec"]["revisionHistoryLimit"] == 10

    job = _post(emulator, "/apis/batch/v1/namespaces/%s/jobs" % ns, {"metadata": {"name": "d-job"}, "spec": {
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}}}})
    uid = job["metadata"]["uid"]
    assert {k: job["spec"][k] for k in ("completions", "parallelism", "backoffLimit", "completionMode", "suspend",
                                        "podReplacementPolicy", "manualSelector")} == {
        "completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": False}
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["spec"]["template"]["metadata"]["labels"] == {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "d-job",
                                                             "controller-uid": uid, "job-name": "d-job"}
    assert job["metadata"]["labels"] == job["spec"]["template"]["metadata"]["labels"]
    status, answer, _headers = request(emulator, "cluster1", "POST", "/apis/batch/v1/namespaces/%s/jobs" % ns, {
        "metadata": {"name": "d-job-always"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    assert status == 422 and answer["message"] == ('Job.batch "d-job-always" is invalid: spec.template.spec.restartPolicy: '
                                                   'Required value: valid values: "OnFailure", "Never"')

    pod = _post(emulator, "/api/v1/namespaces/%s/pods" % ns, {"metadata": {"name": "d-pod"}, "spec": {
        "containers": [{"name": "c", "image": "nginx"}]}})
    spec = pod["spec"]
    assert {k: spec[k] for k in ("restartPolicy", "dnsPolicy", "terminationGracePeriodSeconds", "schedulerName", "securityContext",
                                 "enableServiceLinks", "serviceAccountName", "serviceAccount", "priority", "preemptionPolicy")} == {
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler",
        "securityContext": {}, "enableServiceLinks": True, "serviceAccountName": "default", "serviceAccount": "default",
        "priority": 0, "preemptionPolicy": "PreemptLowerPriority"}
    assert {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300} in spec["tolerations"]
    token_volume = next(v for v in spec["volumes"] if v["name"].startswith("kube-api-access-"))
    assert spec["containers"][0]["volumeMounts"] == [{"name": token_volume["name"], "readOnly": True,
                                                      "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


PLAYBOOK = textwrap.dedent("""\
    - hosts: localhost
      connection: local
      gather_facts: false
      module_defaults:
        group/kubernetes.core.k8s: {kubeconfig: "%(kubeconfig)s", context: cluster1}
      tasks:
        - name: A StatefulSet without replicas or updateStrategy, waited on (kubernetes.core reads spec.updateStrategy.type)
          kubernetes.core.k8s:
            wait: true
            wait_timeout: 60
            definition:
              apiVersion: apps/v1
              kind: StatefulSet
              metadata: {name: waited, namespace: %(ns)s}
              spec:
                serviceName: waited
                selector: {matchLabels: {app: waited}}
                template:
                  metadata: {labels: {app: waited}}
                  spec: {containers: [{name: c, image: "nginx:1.27"}]}
        - name: A Deployment scaled to 0, waited on
          kubernetes.core.k8s:
            wait: true
            wait_timeout: 60
            definition:
              apiVersion: apps/v1
              kind: Deployment
              metadata: {name: zero, namespace: %(ns)s}
              spec:
                replicas: 0
                selector: {matchLabels: {app: zero}}
                template:
                  metadata: {labels: {app: zero}}
                  spec: {containers: [{name: c, image: "nginx:1.27"}]}
    """)


def test_kubernetes_core_waits_on_a_defaulted_statefulset_and_a_deployment_scaled_to_zero(emulator, ns, tmp_path):
    """kubernetes.core's StatefulSet wait needs spec.updateStrategy.type (it crashed with 'NoneType' object has no attribute
    'type'); its Deployment wait counts a Deployment of 0 replicas ready only when the zero counts are left out of status."""
    book = tmp_path / "wait.yml"
    book.write_text(PLAYBOOK % {"kubeconfig": emulator.kubeconfig, "ns": ns})
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-e", "ansible_python_interpreter=" + sys.executable, str(book)],
                          env=emulator.env(ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0"),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert re.search(r"localhost\s*:\s*ok=2\s+changed=2\s+unreachable=0\s+failed=0", proc.stdout), proc.stdout[-2000:]
    zero = kubectl_json(emulator, "get", "deployment", "zero", "-n", ns)
    # DeploymentStatus: replicas, updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas are omitempty
    assert set(zero["status"]) == {"observedGeneration", "conditions"}
    assert condition(zero, "Available")["status"] == "True"
    rollout = emulator.kubectl("rollout", "status", "deployment/zero", "-n", ns, "--timeout=30s", context="cluster1")
    assert 'deployment "zero" successfully rolled out' in rollout.stdout
    rollout = emulator.kubectl("rollout", "status", "statefulset/waited", "-n", ns, "--timeout=30s", context="cluster1")
    assert "roll out complete" in rollout.stdout or "rolling update complete" in rollout.stdout
    sts = kubectl_json(emulator, "get", "statefulset", "waited", "-n", ns)
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"] and sts["status"]["readyReplicas"] == 1


def _job(name, exit_code=None, **spec):
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36"}]}}
    if exit_code is not None:
        template["metadata"] = {"annotations": {"emulator.meshops/exit-code": str(exit_code)}}
    return {"metadata": {"name": name}, "spec": dict({"template": template}, **spec)}


def test_jobs_run_pods_to_completion(emulator, ns):
    """The Job controller creates Pods (generateName <job>-, labels job-name/controller-uid); a Pod that exits 0 is
    Succeeded and the Job Complete (SuccessCriteriaMet, completionTime, succeeded 1); Pods that fail are replaced until
    backoffLimit, then the Job is Failed (BackoffLimitExceeded)."""
    path = "/apis/batch/v1/namespaces/%s/jobs" % ns
    _post(emulator, path, _job("runs"))
    job = wait_value(lambda: ok(emulator, "cluster1", "GET", path + "/runs"), lambda j: condition(j, "Complete"), what="Job runs Complete")
    status = job["status"]
    assert status["succeeded"] == 1 and "active" not in status and status["completionTime"] and status["startTime"]
    assert status["ready"] == 0 and status["terminating"] == 0 and status["uncountedTerminatedPods"] == {}
    assert condition(job, "Complete")["reason"] == "CompletionsReached"
    assert condition(job, "SuccessCriteriaMet")["message"] == "Reached expected number of succeeded pods"
    pods = ok(emulator, "cluster1", "GET", "/api/v1/namespaces/%s/pods?labelSelector=job-name%%3Druns" % ns)["items"]
    assert len(pods) == 1 and pods[0]["metadata"]["name"].startswith("runs-") and pods[0]["metadata"]["generateName"] == "runs-"
    assert pods[0]["status"]["phase"] == "Succeeded"
    terminated = pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0 and terminated["reason"] == "Completed"
    assert condition(pods[0], "Ready") == dict(condition(pods[0], "Ready"), status="False", reason="PodCompleted")

    _post(emulator, path, _job("fails", exit_code=1, backoffLimit=1))
    job = wait_value(lambda: ok(emulator, "cluster1", "GET", path + "/fails"), lambda j: condition(j, "Failed"), what="Job fails Failed")
    assert job["status"]["failed"] == 2 and "succeeded" not in job["status"]
    assert condition(job, "Failed")["reason"] == "BackoffLimitExceeded"
    assert condition(job, "Failed")["message"] == "Job has reached the specified backoff limit"
    pods = ok(emulator, "cluster1", "GET", "/api/v1/namespaces/%s/pods?labelSelector=job-name%%3Dfails" % ns)["items"]
    assert sorted(p["status"]["phase"] for p in pods) == ["Failed", "Failed"]


def test_finished_jobs_are_deleted_after_their_ttl(emulator, ns):
    """spec.ttlSecondsAfterFinished: the TTL-after-finished controller deletes the finished Job, and the garbage collector
    its Pods."""
    path = "/apis/batch/v1/namespaces/%s/jobs" % ns
    _post(emulator, path, _job("short-lived", ttlSecondsAfterFinished=0))
    wait_for(lambda: request(emulator, "cluster1", "GET", path + "/short-lived")[0] == 404, what="Job deleted after its TTL")
    wait_for(lambda: not ok(emulator, "cluster1", "GET", "/api/v1/namespaces/%s/pods?labelSelector=job-name%%3Dshort-lived" % ns)["items"],
             what="its Pods deleted")


HOOK_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: hooks\nversion: 0.1.0\n",
    "values.yaml": "fail: false\n",
    "templates/app.yaml": textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: app}
        spec:
          selector: {matchLabels: {app: app}}
          template:
            metadata: {labels: {app: app}}
            spec: {containers: [{name: app, image: "nginx:1.27"}]}
        """),
    "templates/hooks.yaml": textwrap.dedent("""\
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: hook-runner
          annotations: {helm.sh/hook: "pre-install,pre-upgrade", helm.sh/hook-weight: "-5",
                        helm.sh/hook-delete-policy: before-hook-creation}
        ---
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: migrate
          annotations: {helm.sh/hook: "pre-install,pre-upgrade", helm.sh/hook-delete-policy: "before-hook-creation,hook-succeeded"}
        spec:
          backoffLimit: 0
          template:
            metadata:
              annotations: {emulator.meshops/exit-code: "{{ if .Values.fail }}3{{ else }}0{{ end }}"}
            spec:
              serviceAccountName: hook-runner
              restartPolicy: Never
              containers: [{name: migrate, image: "busybox:1.36"}]
        ---
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: report
          annotations: {helm.sh/hook: post-install, helm.sh/hook-delete-policy: before-hook-creation}
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers: [{name: report, image: "busybox:1.36"}]
        """),
}


@pytest.fixture(scope="module")
def hook_chart(tmp_path_factory):
    base = tmp_path_factory.mktemp("hooks") / "hooks"
    for name, text in HOOK_CHART.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
    return str(base)


def test_helm_waits_on_hook_jobs_and_applies_their_delete_policies(emulator, hook_chart):
    """helm runs hook Jobs and waits until they are Complete; hook-succeeded deletes the Job afterwards,
    before-hook-creation keeps it until the next run; a failing hook Job fails the install (and --atomic uninstalls)."""
    helm = emulator.helm
    helm("install", "hooks", hook_chart, "-n", "hooks", "--create-namespace", "--wait", "--atomic", "--timeout", "90s", context="cluster2")
    jobs = {j["metadata"]["name"]: j for j in kubectl_json(emulator, "get", "jobs", "-n", "hooks", context="cluster2")["items"]}
    assert "migrate" not in jobs                           # hook-succeeded: deleted once Complete
    assert condition(jobs["report"], "Complete")["status"] == "True"
    releases = json.loads(helm("list", "-n", "hooks", "-o", "json", context="cluster2").stdout)
    assert [(r["name"], r["status"]) for r in releases] == [("hooks", "deployed")]
    helm("upgrade", "hooks", hook_chart, "-n", "hooks", "--wait", "--timeout", "90s", context="cluster2")
    assert json.loads(helm("list", "-n", "hooks", "-o", "json", context="cluster2").stdout)[0]["revision"] == "2"

    failed = helm("install", "broken", hook_chart, "-n", "hooks-broken", "--create-namespace", "--set", "fail=true", "--wait",
                  "--atomic", "--timeout", "90s", context="cluster2", check=False)
    assert failed.returncode != 0
    assert "BackoffLimitExceeded" in failed.stderr or "job failed" in failed.stderr.lower(), failed.stderr
    assert helm("list", "-n", "hooks-broken", "-q", context="cluster2").stdout.strip() == ""


REVISIONED = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      namespace: %(ns)s
      annotations: {kubernetes.io/change-cause: "%(cause)s"}
    spec:
      replicas: 2
      revisionHistoryLimit: %(limit)d
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: "example/web:%(tag)s"}]}
    """)


def _image(dep):
    return dep["spec"]["template"]["spec"]["containers"][0]["image"]


def _replicasets(handle, ns):
    items = kubectl_json(handle, "get", "replicasets", "-n", ns, "-l", "app=web")["items"]
    return {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs for rs in items}


def test_deployment_revision_history_rollout_history_and_undo(emulator):
    """One ReplicaSet per template revision (annotation deployment.kubernetes.io/revision on it and on the Deployment;
    older ones scaled to 0 and kept up to revisionHistoryLimit): kubectl rollout history lists them with their change
    cause, kubectl rollout undo brings back the previous template as the next revision."""
    ns = "revisions"
    emulator.kubectl("create", "namespace", ns, context="cluster1")
    for tag in ("1", "2", "3"):
        emulator.kubectl("apply", "-f", "-", context="cluster1", stdin=REVISIONED % {"ns": ns, "cause": "image " + tag, "tag": tag, "limit": 10})
        emulator.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s", context="cluster1")
    dep = kubectl_json(emulator, "get", "deployment", "web", "-n", ns)
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    sets = _replicasets(emulator, ns)
    assert sorted(sets) == ["1", "2", "3"]
    assert [sets[r]["spec"]["replicas"] for r in ("1", "2", "3")] == [0, 0, 2]
    assert sets["3"]["metadata"]["annotations"]["kubernetes.io/change-cause"] == "image 3"
    history = emulator.kubectl("rollout", "history", "deployment/web", "-n", ns, context="cluster1").stdout
    assert re.search(r"^1\s+image 1$", history, re.M) and re.search(r"^3\s+image 3$", history, re.M), history
    assert "example/web:2" in emulator.kubectl("rollout", "history", "deployment/web", "-n", ns, "--revision=2", context="cluster1").stdout

    assert "rolled back" in emulator.kubectl("rollout", "undo", "deployment/web", "-n", ns, context="cluster1").stdout
    emulator.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s", context="cluster1")
    dep = kubectl_json(emulator, "get", "deployment", "web", "-n", ns)
    assert _image(dep) == "example/web:2" and dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"
    sets = _replicasets(emulator, ns)
    assert sorted(sets) == ["1", "3", "4"]               # revision 2's ReplicaSet became revision 4
    assert sets["4"]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "2"
    pods = kubectl_json(emulator, "get", "pods", "-n", ns, "-l", "app=web")["items"]
    assert len(pods) == 2 and {p["spec"]["containers"][0]["image"] for p in pods} == {"example/web:2"}

    emulator.kubectl("rollout", "undo", "deployment/web", "-n", ns, "--to-revision=1", context="cluster1")
    wait_for(lambda: _image(kubectl_json(emulator, "get", "deployment", "web", "-n", ns)) == "example/web:1", what="undo to revision 1")
    emulator.kubectl("apply", "-f", "-", context="cluster1", stdin=REVISIONED % {"ns": ns, "cause": "image 5", "tag": "5", "limit": 1})
    wait_for(lambda: sorted(_replicasets(emulator, ns)) == ["5", "6"], what="history trimmed to revisionHistoryLimit 1")
