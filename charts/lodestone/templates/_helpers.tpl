{{/* Names. */}}
{{- define "lodestone.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "lodestone.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of a component's objects: <fullname>-<component>, short enough for pod names of
StatefulSets (the controller-revision-hash label limits them to 52 characters). */}}
{{- define "lodestone.componentName" -}}
{{- $root := index . 0 }}{{ $component := index . 1 }}
{{- printf "%s-%s" (include "lodestone.fullname" $root | trunc (int (sub 51 (len $component))) | trimSuffix "-") $component }}
{{- end }}

{{- define "lodestone.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels: (list $ "component"). */}}
{{- define "lodestone.labels" -}}
{{- $root := index . 0 }}{{ $component := index . 1 -}}
helm.sh/chart: {{ include "lodestone.chart" $root }}
{{ include "lodestone.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: lodestone
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "lodestone.selectorLabels" -}}
{{- $root := index . 0 }}{{ $component := index . 1 -}}
app.kubernetes.io/name: {{ include "lodestone.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ $component }}
{{- end }}

{{- define "lodestone.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lodestone.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image of a Lodestone program: (list $ .Values.ledger.image). */}}
{{- define "lodestone.image" -}}
{{- $root := index . 0 }}{{ $image := index . 1 }}
{{- $tag := default $root.Chart.AppVersion $root.Values.image.tag }}
{{- $repository := $image.repository }}
{{- if $root.Values.image.registry }}
{{- $repository = printf "%s/%s" $root.Values.image.registry $image.repository }}
{{- end }}
{{- printf "%s%s%s" $repository (ternary "@" ":" (hasPrefix "sha256:" $tag)) $tag }}
{{- end }}

{{/* DNS suffix of the release's namespace: <namespace>.svc.<clusterDomain>. */}}
{{- define "lodestone.svcSuffix" -}}
{{- printf "%s.svc.%s" .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/* Comma-separated etcd client URLs for --etcd_endpoints. */}}
{{- define "lodestone.etcdEndpoints" -}}
{{- if .Values.etcd.enabled }}
{{- $name := include "lodestone.componentName" (list . "etcd") }}
{{- $suffix := include "lodestone.svcSuffix" . }}
{{- $urls := list }}
{{- range $i := until (int .Values.etcd.replicas) }}
{{- $urls = append $urls (printf "http://%s-%d.%s-headless.%s:2379" $name $i $name $suffix) }}
{{- end }}
{{- join "," $urls }}
{{- else }}
{{- join "," .Values.etcd.external.endpoints }}
{{- end }}
{{- end }}

{{- define "lodestone.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "lodestone.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{/* Flags shared by the Lodestone programs' flag files (TLS). */}}
{{- define "lodestone.tlsFlags" -}}
{{- if .Values.tls.enabled -}}
# TLS material from the Secret {{ include "lodestone.tlsSecretName" . }}
--tls_cert=/etc/lodestone/tls/tls.crt
--tls_key=/etc/lodestone/tls/tls.key
--tls_ca=/etc/lodestone/tls/ca.crt
# Plain-text gRPC health service for the kubelet's probes
--health_listen={{ .Values.listenHost }}:{{ .Values.ports.health }}
{{- end }}
{{- end }}

{{/* Who attests appends (docs/security.md): with TLS the party of each client certificate;
without TLS every caller that reaches the port is the administrator, so plain text belongs on a
trusted network only (the NetworkPolicy admits only labelled clients). */}}
{{- define "lodestone.attestationFlags" -}}
--admin_party={{ .Values.adminParty }}
{{- if not .Values.tls.enabled }}
--plaintext_callers=any
{{- end }}
{{- end }}

{{/* Probes of a Lodestone container: (list $ grpcPort). */}}
{{- define "lodestone.probes" -}}
{{- $root := index . 0 }}{{ $port := index . 1 }}
{{- $probePort := ternary $root.Values.ports.health $port $root.Values.tls.enabled }}
{{- with $root.Values.probes -}}
startupProbe:
  grpc:
    port: {{ $probePort }}
  periodSeconds: {{ .startup.periodSeconds }}
  timeoutSeconds: {{ .startup.timeoutSeconds }}
  failureThreshold: {{ .startup.failureThreshold }}
readinessProbe:
  grpc:
    port: {{ $probePort }}
  periodSeconds: {{ .readiness.periodSeconds }}
  timeoutSeconds: {{ .readiness.timeoutSeconds }}
  failureThreshold: {{ .readiness.failureThreshold }}
livenessProbe:
  grpc:
    port: {{ $probePort }}
  periodSeconds: {{ .liveness.periodSeconds }}
  timeoutSeconds: {{ .liveness.timeoutSeconds }}
  failureThreshold: {{ .liveness.failureThreshold }}
{{- end }}
{{- end }}

{{/* Container ports of a Lodestone program: (list $ grpcPort metricsPort). */}}
{{- define "lodestone.containerPorts" -}}
{{- $root := index . 0 -}}
- name: grpc
  containerPort: {{ index . 1 }}
  protocol: TCP
- name: metrics
  containerPort: {{ index . 2 }}
  protocol: TCP
{{- if $root.Values.tls.enabled }}
- name: health
  containerPort: {{ $root.Values.ports.health }}
  protocol: TCP
{{- end }}
{{- end }}

{{/* Pod-level settings shared by every pod: (list $ componentValues). */}}
{{- define "lodestone.podCommon" -}}
{{- $root := index . 0 }}{{ $c := index . 1 -}}
serviceAccountName: {{ include "lodestone.serviceAccountName" $root }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Affinity: the component's own, or anti-affinity by podAntiAffinity:
(list $ componentValues "component"). */}}
{{- define "lodestone.affinity" -}}
{{- $root := index . 0 }}{{ $c := index . 1 }}{{ $component := index . 2 }}
{{- if $c.affinity -}}
affinity:
  {{- toYaml $c.affinity | nindent 2 }}
{{- else if eq $c.podAntiAffinity "hard" -}}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: {{ $c.antiAffinityTopologyKey }}
        labelSelector:
          matchLabels:
            {{- include "lodestone.selectorLabels" (list $root $component) | nindent 12 }}
{{- else if eq $c.podAntiAffinity "soft" -}}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: {{ $c.antiAffinityTopologyKey }}
          labelSelector:
            matchLabels:
              {{- include "lodestone.selectorLabels" (list $root $component) | nindent 14 }}
{{- end }}
{{- end }}

{{/* Volume claim template: (list $ persistenceValues). */}}
{{- define "lodestone.volumeClaimTemplate" -}}
{{- $root := index . 0 }}{{ $p := index . 1 -}}
- metadata:
    name: data
    {{- with $p.annotations }}
    annotations:
      {{- toYaml . | nindent 6 }}
    {{- end }}
  spec:
    accessModes:
      {{- toYaml $p.accessModes | nindent 6 }}
    {{- with $p.storageClassName }}
    storageClassName: {{ . | quote }}
    {{- end }}
    resources:
      requests:
        storage: {{ $p.size | quote }}
{{- end }}

{{/* Volumes and mounts of the configuration and TLS material. */}}
{{- define "lodestone.configVolumes" -}}
- name: config
  configMap:
    name: {{ include "lodestone.fullname" . }}-config
{{- if .Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ include "lodestone.tlsSecretName" . }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{- define "lodestone.configMounts" -}}
- name: config
  mountPath: /etc/lodestone/config
  readOnly: true
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/lodestone/tls
  readOnly: true
{{- end }}
{{- end }}

{{/* Pod annotations that roll the pods when their configuration changes. */}}
{{- define "lodestone.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) }}
checksum/tls: {{ include (print .Template.BasePath "/secret-tls.yaml") . | sha256sum }}
{{- end }}
{{- end }}
