{{/* Name of the release's objects: RELEASE-zmesh, or RELEASE when it says zmesh already. */}}
{{- define "zmesh.fullname" -}}
{{- if contains "zmesh" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-zmesh" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "zmesh.selectorLabels" -}}
app.kubernetes.io/name: zmesh
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "zmesh.labels" -}}
{{ include "zmesh.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
One group of nodes as a StatefulSet, each pod with its own volume for its keys.
Called with a dict: root (the chart's context), name, replicas, roles, storage,
resources, bootstrap (true for the bootstrap node).
*/}}
{{- define "zmesh.statefulset" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $full := include "zmesh.fullname" $root -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $full }}-{{ .name }}
  labels:
    {{- include "zmesh.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .name }}
spec:
  serviceName: {{ $full }}-nodes
  replicas: {{ .replicas }}
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      {{- include "zmesh.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ .name }}
  template:
    metadata:
      labels:
        {{- include "zmesh.selectorLabels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .name }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        # The volume's root becomes group 10001 on first mount; OnRootMismatch keeps the
        # kubelet from adding group permissions to the key files afterwards.
        fsGroup: 10001
        fsGroupChangePolicy: OnRootMismatch
        seccompProfile:
          type: RuntimeDefault
      {{- if .bootstrap }}
      initContainers:
        # The identity key from the Secret, into the data directory, mode 0600.
        - name: identity-key
          image: "{{ $v.image.repository }}:{{ $v.image.tag }}"
          imagePullPolicy: {{ $v.image.pullPolicy }}
          command:
            - sh
            - -c
            - umask 077 && mkdir -p /var/lib/zmesh/node && cp /identity/identity.key /var/lib/zmesh/node/identity.key.new && mv /var/lib/zmesh/node/identity.key.new /var/lib/zmesh/node/identity.key
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - name: data
              mountPath: /var/lib/zmesh
            - name: identity
              mountPath: /identity
              readOnly: true
      {{- end }}
      containers:
        - name: zmesh
          image: "{{ $v.image.repository }}:{{ $v.image.tag }}"
          imagePullPolicy: {{ $v.image.pullPolicy }}
          args: [zmesh, node, --config, /etc/zmesh/zmesh.toml]
          env:
            - name: POD_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
            - name: ZMESH_TRANSPORT_ADVERTISE
              value: "$(POD_IP):{{ $v.linkPort }}"
            - name: ZMESH_CORE_ROLES
              value: {{ join "," .roles | quote }}
            {{- if not .bootstrap }}
            # The entry point resolves the Service's name (core.bootstrap takes an IP).
            - name: ZMESH_BOOTSTRAP_ADDR
              value: "{{ $full }}-bootstrap:{{ $v.bootstrap.directoryPort }}"
            - name: ZMESH_BOOTSTRAP_KEY
              value: {{ required "bootstrap.publicKey: the bootstrap identity's ed25519 public key (zmesh id identity.key)" $v.bootstrap.publicKey | quote }}
            {{- end }}
          ports:
            - name: link
              containerPort: {{ $v.linkPort }}
              protocol: UDP
            - name: metrics
              containerPort: {{ $v.metricsPort }}
              protocol: TCP
            {{- if .bootstrap }}
            - name: directory
              containerPort: {{ $v.bootstrap.directoryPort }}
              protocol: TCP
            {{- end }}
            {{- if has "client" .roles }}
            - name: socks
              containerPort: 9050
              protocol: TCP
            {{- end }}
          # `zmesh status` asks the daemon over its control socket; exit 1 when it does not answer.
          startupProbe:
            exec:
              command: [zmesh, status, --control, /var/lib/zmesh/node/control.sock]
            periodSeconds: 2
            failureThreshold: 30
          readinessProbe:
            exec:
              command: [zmesh, status, --control, /var/lib/zmesh/node/control.sock]
            periodSeconds: 10
            timeoutSeconds: 5
          livenessProbe:
            exec:
              command: [zmesh, status, --control, /var/lib/zmesh/node/control.sock]
            periodSeconds: 30
            timeoutSeconds: 5
            failureThreshold: 3
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - name: data
              mountPath: /var/lib/zmesh
            - name: config
              mountPath: /etc/zmesh
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: {{ $full }}-config
        {{- if .bootstrap }}
        - name: identity
          secret:
            secretName: {{ $v.bootstrap.identitySecret }}
            defaultMode: 0440
            items:
              - key: identity.key
                path: identity.key
        {{- end }}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        {{- if $v.storageClassName }}
        storageClassName: {{ $v.storageClassName }}
        {{- end }}
        resources:
          requests:
            storage: {{ .storage }}
{{- end -}}
