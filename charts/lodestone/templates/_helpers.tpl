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
{{- $scheme := ternary "https" "http" (eq (include "lodestone.etcdTlsEnabled" .) "true") }}
{{- $urls := list }}
{{- range $i := until (int .Values.etcd.replicas) }}
{{- $urls = append $urls (printf "%s://%s-%d.%s-headless.%s:2379" $scheme $name $i $name $suffix) }}
{{- end }}
{{- join "," $urls }}
{{- else }}
{{- join "," .Values.etcd.external.endpoints }}
{{- end }}
{{- end }}

{{/* "true" when the programs serve mutual TLS: tls.enabled, or (null) the distributed shape. */}}
{{- define "lodestone.tlsEnabled" -}}
{{- if kindIs "invalid" .Values.tls.enabled }}
{{- ternary "true" "false" (eq .Values.mode "distributed") }}
{{- else }}
{{- ternary "true" "false" (.Values.tls.enabled | toString | eq "true") }}
{{- end }}
{{- end }}

{{/* "true" when the ledger and the embedded server serve the EPCIS REST binding on ports.http:
http.enabled, or (null) as TLS. */}}
{{- define "lodestone.httpEnabled" -}}
{{- if kindIs "invalid" .Values.http.enabled }}
{{- include "lodestone.tlsEnabled" . }}
{{- else }}
{{- ternary "true" "false" (.Values.http.enabled | toString | eq "true") }}
{{- end }}
{{- end }}

{{/* The EPCIS REST binding's flags of the ledger and the embedded server (off: an empty
--http_listen, since lodestone-server serves on loopback by default). */}}
{{- define "lodestone.httpFlags" -}}
{{- if eq (include "lodestone.httpEnabled" .) "true" -}}
# EPCIS 2.0 REST binding (HTTPS with the TLS flags' certificates)
--http_listen={{ .Values.listenHost }}:{{ .Values.ports.http }}
--http_max_body_mb={{ .Values.http.maxBodyMb }}
{{- else -}}
# EPCIS 2.0 REST binding off (http.enabled)
--http_listen=
{{- end }}
{{- end }}

{{/* "true" when the in-chart etcd runs TLS: etcd.tls.enabled, or (null) as the programs. */}}
{{- define "lodestone.etcdTlsEnabled" -}}
{{- if not (and (eq .Values.mode "distributed") .Values.etcd.enabled) }}
{{- "false" }}
{{- else if kindIs "invalid" .Values.etcd.tls.enabled }}
{{- include "lodestone.tlsEnabled" . }}
{{- else }}
{{- ternary "true" "false" (.Values.etcd.tls.enabled | toString | eq "true") }}
{{- end }}
{{- end }}

{{/* "true" when the chart requests certificates from cert-manager. */}}
{{- define "lodestone.certManager" -}}
{{- ternary "true" "false" (and (eq (include "lodestone.tlsEnabled" .) "true") (eq .Values.tls.source "certManager")) }}
{{- end }}

{{- define "lodestone.tlsSecretName" -}}
{{- if and (eq .Values.tls.source "secret") .Values.tls.existingSecret }}
{{- .Values.tls.existingSecret }}
{{- else }}
{{- printf "%s-tls" (include "lodestone.fullname" .) }}
{{- end }}
{{- end }}

{{- define "lodestone.etcdTlsSecretName" -}}
{{- default (printf "%s-tls" (include "lodestone.componentName" (list . "etcd"))) .Values.etcd.tls.existingSecret }}
{{- end }}

{{/* The node id of the programs' identity URI SAN (cert-manager Certificates). */}}
{{- define "lodestone.nodeId" -}}
{{- default (include "lodestone.fullname" .) .Values.tls.certManager.nodeId }}
{{- end }}

{{/* Values that cannot be judged by values.schema.json alone (they depend on the shape):
refused with a message that names the choices. Included by the ConfigMap (always rendered). */}}
{{- define "lodestone.validate" -}}
{{- $tls := eq (include "lodestone.tlsEnabled" .) "true" }}
{{- $etcdTls := eq (include "lodestone.etcdTlsEnabled" .) "true" }}
{{- if and $tls (eq .Values.tls.source "secret") (not .Values.tls.existingSecret) (not (and .Values.tls.cert .Values.tls.key .Values.tls.ca)) }}
{{- fail (printf "TLS is on (%s): set tls.existingSecret, or tls.cert, tls.key and tls.ca, or tls.source=certManager with tls.certManager.issuerRef.name; or tls.enabled=false on a network whose every client is trusted" (ternary "tls.enabled is true" "the distributed shape's default" (kindIs "bool" .Values.tls.enabled))) }}
{{- end }}
{{- if and $tls (eq .Values.tls.source "certManager") (not .Values.tls.certManager.issuerRef.name) }}
{{- fail "tls.source=certManager needs tls.certManager.issuerRef.name (an Issuer or ClusterIssuer)" }}
{{- end }}
{{- if and .Values.tls.certManager.parties (not (eq (include "lodestone.certManager" .) "true")) }}
{{- fail "tls.certManager.parties needs TLS on with tls.source=certManager (the chart requests party certificates only from cert-manager)" }}
{{- end }}
{{- $reserved := list (printf "%s-tls" (include "lodestone.fullname" .)) (include "lodestone.etcdTlsSecretName" .) }}
{{- $seen := list }}
{{- range .Values.tls.certManager.parties }}
{{- if has .secretName $reserved }}
{{- fail (printf "tls.certManager.parties: secretName %s is the chart's own TLS Secret: choose another" .secretName) }}
{{- end }}
{{- if has .secretName $seen }}
{{- fail (printf "tls.certManager.parties: secretName %s is given twice" .secretName) }}
{{- end }}
{{- $seen = append $seen .secretName }}
{{- end }}
{{- if and $etcdTls (not $tls) }}
{{- fail "etcd TLS needs the programs' TLS (the ledger's certificate is its etcd client identity): turn tls.enabled on, or etcd.tls.enabled off" }}
{{- end }}
{{- if and $etcdTls (eq .Values.tls.source "secret") (not .Values.etcd.tls.existingSecret) }}
{{- fail "etcd TLS is on (as the programs' TLS): set etcd.tls.existingSecret (tls.crt, tls.key, ca.crt of the members), or tls.source=certManager, or etcd.tls.enabled=false" }}
{{- end }}
{{- if .Values.backup.enabled }}
{{- if lt (int .Values.backup.activeDeadlineSeconds) (int .Values.backup.callTimeoutSeconds) }}
{{- fail (printf "backup.activeDeadlineSeconds (%d) is shorter than backup.callTimeoutSeconds (%d): one node's backup could not finish within the Job's deadline" (int .Values.backup.activeDeadlineSeconds) (int .Values.backup.callTimeoutSeconds)) }}
{{- end }}
{{- end }}
{{- if and .Values.backup.tls.existingSecret (not $tls) }}
{{- fail "backup.tls.existingSecret is set but TLS is off: lodectl would present no certificate (without TLS every caller is the administrator); unset it or turn tls.enabled on" }}
{{- end }}
{{- if and (eq .Values.mode "distributed") (not .Values.etcd.enabled) .Values.etcd.external.endpoints }}
{{- $https := 0 }}
{{- range .Values.etcd.external.endpoints }}{{ if hasPrefix "https://" . }}{{ $https = add1 $https }}{{ end }}{{ end }}
{{- if and (gt $https 0) (lt $https (len .Values.etcd.external.endpoints)) }}
{{- fail "etcd.external.endpoints: give all https:// or all http:// (the ledger refuses a mix)" }}
{{- end }}
{{- if and .Values.etcd.external.tls.existingSecret (eq $https 0) }}
{{- fail "etcd.external.tls.existingSecret is set but etcd.external.endpoints are not https://" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The ledger's flags for TLS to etcd (docs/security.md): the in-chart etcd with TLS, or
https:// external endpoints. Client certificate and key: the ledger's own, or the external
Secret's; the members are verified against the etcd Secret's ca.crt. */}}
{{- define "lodestone.etcdTlsFlags" -}}
{{- $tls := eq (include "lodestone.tlsEnabled" .) "true" }}
{{- if eq (include "lodestone.etcdTlsEnabled" .) "true" -}}
# TLS to etcd: this node's certificate; the members verified against {{ include "lodestone.etcdTlsSecretName" . }}'s ca.crt
--etcd_tls_cert=/etc/lodestone/tls/tls.crt
--etcd_tls_key=/etc/lodestone/tls/tls.key
--etcd_tls_ca=/etc/lodestone/etcd-tls/ca.crt
{{- else if and (eq .Values.mode "distributed") (not .Values.etcd.enabled) (eq (include "lodestone.externalEtcdHttps" .) "true") }}
{{- if .Values.etcd.external.tls.existingSecret -}}
# TLS to the external etcd: the client certificate and CA of the Secret {{ .Values.etcd.external.tls.existingSecret }}
--etcd_tls_cert=/etc/lodestone/etcd-tls/tls.crt
--etcd_tls_key=/etc/lodestone/etcd-tls/tls.key
--etcd_tls_ca=/etc/lodestone/etcd-tls/ca.crt
{{- else if $tls -}}
# TLS to the external etcd: this node's certificate and CA
--etcd_tls_cert=/etc/lodestone/tls/tls.crt
--etcd_tls_key=/etc/lodestone/tls/tls.key
--etcd_tls_ca=/etc/lodestone/tls/ca.crt
{{- end }}
{{- end }}
{{- end }}

{{/* "true" when the external etcd endpoints are https://. */}}
{{- define "lodestone.externalEtcdHttps" -}}
{{- $https := false }}
{{- range .Values.etcd.external.endpoints }}{{ if hasPrefix "https://" . }}{{ $https = true }}{{ end }}{{ end }}
{{- ternary "true" "false" $https }}
{{- end }}

{{/* Flags shared by the Lodestone programs' flag files (TLS). */}}
{{- define "lodestone.tlsFlags" -}}
{{- if eq (include "lodestone.tlsEnabled" .) "true" -}}
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
{{- if ne (include "lodestone.tlsEnabled" .) "true" }}
--plaintext_callers=any
{{- end }}
{{- end }}

{{/* Probes of a Lodestone container: (list $ grpcPort). */}}
{{- define "lodestone.probes" -}}
{{- $root := index . 0 }}{{ $port := index . 1 }}
{{- $probePort := ternary $root.Values.ports.health $port (eq (include "lodestone.tlsEnabled" $root) "true") }}
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

{{/* Container ports of a Lodestone program: (list $ grpcPort metricsPort [servesHttp]); the
EPCIS HTTP port when servesHttp and http is enabled. */}}
{{- define "lodestone.containerPorts" -}}
{{- $root := index . 0 -}}
- name: grpc
  containerPort: {{ index . 1 }}
  protocol: TCP
- name: metrics
  containerPort: {{ index . 2 }}
  protocol: TCP
{{- if and (gt (len .) 3) (index . 3) (eq (include "lodestone.httpEnabled" $root) "true") }}
- name: http
  containerPort: {{ $root.Values.ports.http }}
  protocol: TCP
{{- end }}
{{- if eq (include "lodestone.tlsEnabled" $root) "true" }}
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

{{/* Volume claim template: (list $ persistenceValues [name]); the name defaults to "data". */}}
{{- define "lodestone.volumeClaimTemplate" -}}
{{- $root := index . 0 }}{{ $p := index . 1 }}{{ $name := "data" }}{{ if gt (len .) 2 }}{{ $name = index . 2 }}{{ end -}}
- metadata:
    name: {{ $name }}
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

{{/* Volumes and mounts of the configuration and TLS material: (list $ "component"). Ledger
pods also get the etcd CA (only ca.crt of the members' Secret: never their key), or the
external etcd's client Secret. */}}
{{- define "lodestone.configVolumes" -}}
{{- $root := index . 0 }}{{ $component := index . 1 -}}
- name: config
  configMap:
    name: {{ include "lodestone.fullname" $root }}-config
{{- if eq (include "lodestone.tlsEnabled" $root) "true" }}
- name: tls
  secret:
    secretName: {{ include "lodestone.tlsSecretName" $root }}
    defaultMode: 0440
{{- end }}
{{- if eq $component "ledger" }}
{{- if eq (include "lodestone.etcdTlsEnabled" $root) "true" }}
- name: etcd-tls
  secret:
    secretName: {{ include "lodestone.etcdTlsSecretName" $root }}
    defaultMode: 0440
    items:
      - key: ca.crt
        path: ca.crt
{{- else if and (not $root.Values.etcd.enabled) $root.Values.etcd.external.tls.existingSecret }}
- name: etcd-tls
  secret:
    secretName: {{ $root.Values.etcd.external.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end }}
{{- end }}

{{- define "lodestone.configMounts" -}}
{{- $root := index . 0 }}{{ $component := index . 1 -}}
- name: config
  mountPath: /etc/lodestone/config
  readOnly: true
{{- if eq (include "lodestone.tlsEnabled" $root) "true" }}
- name: tls
  mountPath: /etc/lodestone/tls
  readOnly: true
{{- end }}
{{- if and (eq $component "ledger") (or (eq (include "lodestone.etcdTlsEnabled" $root) "true") (and (not $root.Values.etcd.enabled) $root.Values.etcd.external.tls.existingSecret)) }}
- name: etcd-tls
  mountPath: /etc/lodestone/etcd-tls
  readOnly: true
{{- end }}
{{- end }}

{{/* Pod annotations that roll the pods when their configuration changes. */}}
{{- define "lodestone.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if and (eq (include "lodestone.tlsEnabled" .) "true") (eq .Values.tls.source "secret") (not .Values.tls.existingSecret) }}
checksum/tls: {{ include (print .Template.BasePath "/secret-tls.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* Scheduled backups (backup.enabled): the backup volume's mount path, outside every
--data_dir (the embedded server's is /var/lib/lodestone itself). */}}
{{- define "lodestone.backupDir" -}}
/var/lib/lodestone-backups
{{- end }}

{{/* The backup flags of the ledger and of the embedded server (backup.enabled). */}}
{{- define "lodestone.backupFlags" -}}
{{- if .Values.backup.enabled -}}
# Online backups (LedgerService.Backup{{ if eq .Values.mode "embedded" }}, ProvenanceService.BackupViews{{ end }}) into the backup volume
--backup_dir={{ include "lodestone.backupDir" . }}
--backups_kept={{ .Values.backup.kept }}
{{- end }}
{{- end }}

{{/* The backup volume of a ledger or server pod: its mount and its claim template. */}}
{{- define "lodestone.backupMount" -}}
{{- if .Values.backup.enabled -}}
- name: backups
  mountPath: {{ include "lodestone.backupDir" . }}
{{- end }}
{{- end }}

{{- define "lodestone.backupClaimTemplate" -}}
{{- if .Values.backup.enabled -}}
{{- include "lodestone.volumeClaimTemplate" (list . .Values.backup.persistence "backups") }}
{{- end }}
{{- end }}
