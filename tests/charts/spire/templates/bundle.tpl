---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "spire.bundleConfigMap" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "spire.labels" (dict "root" . "name" "server") | nindent 4 }}
