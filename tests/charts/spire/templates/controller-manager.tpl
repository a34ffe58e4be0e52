{{- $server := index .Values "spire-server" -}}
{{- if and $server.enabled $server.controllerManager.enabled }}
{{- $cm := $server.controllerManager -}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-controller-manager
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "server") | nindent 4 }}
data:
  controller-manager-config.yaml: |
    apiVersion: spire.spiffe.io/v1alpha1
    kind: ControllerManagerConfig
    metadata:
      name: {{ .Release.Namespace }}-{{ .Release.Name }}
    metrics:
      bindAddress: 0.0.0.0:8082
    health:
      healthProbeBindAddress: 0.0.0.0:8083
    leaderElection:
      leaderElect: true
      resourceName: {{ .Release.Namespace }}-{{ .Release.Name }}-controller-manager-leader-election
      resourceNamespace: {{ .Release.Namespace }}
    validatingWebhookConfigurationName: {{ .Release.Namespace }}-{{ .Release.Name }}-controller-manager-webhook
    entryIDPrefix: {{ .Values.global.spire.clusterName }}
    clusterName: {{ .Values.global.spire.clusterName }}
    trustDomain: {{ .Values.global.spire.trustDomain }}
    className: {{ include "spire.className" . | quote }}
    watchClassless: {{ $cm.watchClassless }}
    ignoreNamespaces:
      {{- toYaml $cm.ignoreNamespaces | nindent 6 }}
    spireServerSocketPath: /tmp/spire-server/private/api.sock
{{- range $key, $id := $cm.identities.clusterSPIFFEIDs }}
{{- if $id.enabled }}
---
apiVersion: spire.spiffe.io/v1alpha1
kind: ClusterSPIFFEID
metadata:
  name: {{ $.Release.Namespace }}-{{ $.Release.Name }}-{{ $key }}
  labels:
    {{- include "spire.labels" (dict "root" $ "name" "server") | nindent 4 }}
spec:
  className: {{ include "spire.className" $ | quote }}
  spiffeIDTemplate: {{ $id.spiffeIDTemplate | quote }}
  {{- with $id.podSelector }}
  podSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $id.namespaceSelector }}
  namespaceSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if $id.fallback }}
  fallback: true
  {{- end }}
{{- end }}
{{- end }}
{{- end }}
