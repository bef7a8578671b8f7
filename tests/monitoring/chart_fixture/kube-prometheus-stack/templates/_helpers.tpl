{{/* Names as the upstream chart forms them: the release name alone when it contains the chart's name. */}}
{{- define "kps.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 26 | trimSuffix "-" }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 26 | trimSuffix "-" }}{{ end }}
{{- end }}
{{- define "kps.namespace" -}}{{ .Values.namespaceOverride | default .Release.Namespace }}{{- end }}
{{- define "kps.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: {{ .Chart.Name }}
app.kubernetes.io/version: {{ .Chart.Version | quote }}
release: {{ .Release.Name | quote }}
{{- end }}
