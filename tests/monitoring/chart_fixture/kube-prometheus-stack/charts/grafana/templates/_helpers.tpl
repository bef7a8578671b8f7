{{- define "grafana.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name }}{{ end }}
{{- end }}
{{- define "grafana.namespace" -}}{{ .Values.namespaceOverride | default .Release.Namespace }}{{- end }}
{{- define "grafana.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
{{/* One sidecar container: the k8s-sidecar image watching ConfigMaps and/or Secrets with a label. */}}
{{- define "grafana.sidecar" -}}
{{- $root := index . 0 }}{{ $kind := index . 1 }}{{ $cfg := index . 2 }}{{ $folder := index . 3 }}
- name: grafana-sc-{{ $kind }}
  {{- $image := $root.Values.sidecar.image }}
  {{- if $image.sha }}
  image: "{{ $image.registry }}/{{ $image.repository }}:{{ $image.tag }}@sha256:{{ $image.sha }}"
  {{- else }}
  image: "{{ $image.registry }}/{{ $image.repository }}:{{ $image.tag }}"
  {{- end }}
  imagePullPolicy: {{ $root.Values.sidecar.imagePullPolicy }}
  env:
    - {name: METHOD, value: WATCH}
    - {name: LABEL, value: {{ $cfg.label | quote }}}
    {{- with $cfg.labelValue }}
    - {name: LABEL_VALUE, value: {{ . | quote }}}
    {{- end }}
    - {name: FOLDER, value: {{ $folder | quote }}}
    - {name: RESOURCE, value: {{ $cfg.resource | quote }}}
    {{- with $cfg.searchNamespace }}
    - {name: NAMESPACE, value: {{ . | join "," | quote }}}
    {{- end }}
  {{- with $root.Values.sidecar.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.sidecar.securityContext | nindent 4 }}
  volumeMounts:
    - {name: sc-{{ $kind }}-volume, mountPath: {{ $folder | quote }}}
{{- end }}
