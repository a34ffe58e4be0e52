{{- $csi := index .Values "spiffe-csi-driver" -}}
{{- if $csi.enabled }}
{{- $fullname := include "spire.csi.fullname" . -}}
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: {{ $csi.pluginName }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "spiffe-csi-driver") | nindent 4 }}
spec:
  attachRequired: false
  podInfoOnMount: true
  fsGroupPolicy: None
  volumeLifecycleModes:
    - Ephemeral
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "spiffe-csi-driver") | nindent 4 }}
spec:
  selector:
    matchLabels:
      {{- include "spire.selectorLabels" (dict "root" . "name" "spiffe-csi-driver") | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "spire.selectorLabels" (dict "root" . "name" "spiffe-csi-driver") | nindent 8 }}
    spec:
      {{- with $csi.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: spiffe-csi-driver
          image: {{ include "spire.image" (dict "image" $csi.image "appVersion" "0.2.6") }}
          args: ["-workload-api-socket-dir", "/spire-agent-socket", "-plugin-name", {{ $csi.pluginName | quote }}]
          securityContext:
            privileged: true
{{- end }}
