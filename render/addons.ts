import { deepMerge } from "../spec/merge";
import { joinHostPort } from "../spec/network";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { DEFAULT_TOKEN_GROUP } from "./bootstrap-token";
import { COMPONENT_CONFIG_HASH, componentConfigHash, CONTROL_PLANE_LABEL, KubeObject } from "./cluster-objects";
import { toYaml } from "./yaml";

const RBAC = "rbac.authorization.k8s.io/v1";
const RBAC_GROUP = "rbac.authorization.k8s.io";

/** kube-proxy's in-cluster kubeconfig, verbatim from kubeadm's KubeProxyConfigMap19 template. */
function kubeProxyKubeconfig(server: string): string {
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- cluster:",
        "    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        `    server: ${server}`,
        "  name: default",
        "contexts:",
        "- context:",
        "    cluster: default",
        "    namespace: default",
        "    user: default",
        "  name: default",
        "current-context: default",
        "users:",
        "- name: default",
        "  user:",
        "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token",
    ].join("\n");
}

/**
 * kubeadm's KubeProxyConfiguration defaulting (componentconfigs/kubeproxy.go): bindAddress by the
 * advertise address' family, clusterCIDR from the pod subnet, the in-cluster kubeconfig path;
 * proxy.config merged over it.
 */
export function kubeProxyConfiguration(cluster: ResolvedCluster): string {
    const ipv6 = cluster.controlPlanes[0].address.includes(":");
    const generated: Record<string, unknown> = {
        apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
        kind: "KubeProxyConfiguration",
        bindAddress: ipv6 ? "::" : "0.0.0.0",
        clientConnection: { kubeconfig: "/var/lib/kube-proxy/kubeconfig.conf" },
        ...(cluster.networking.podSubnet ? { clusterCIDR: cluster.networking.podSubnet } : {}),
    };
    return toYaml(deepMerge<Record<string, unknown>>(generated, cluster.spec.proxy?.config ?? {})).replace(/\n$/, "");
}

/**
 * kubeadm's kube-proxy add-on: its ConfigMap, DaemonSet and RBAC, from cmd/kubeadm/app/phases/addons/proxy
 * (manifests.go and proxy.go, kubernetes/kubernetes@abd60651f20b906e54ce2c89ad6d2b7790dba8a1).
 */
export function kubeProxyObjects(cluster: ResolvedCluster): KubeObject[] {
    const s = cluster.spec;
    const server = `https://${joinHostPort(cluster.endpoint.host, cluster.endpoint.port)}`;
    const data = { "config.conf": kubeProxyConfiguration(cluster), "kubeconfig.conf": kubeProxyKubeconfig(server) };
    const repository = s.proxy?.imageRepository ?? s.imageRepository ?? DEFAULTS.imageRepository;
    const tag = s.proxy?.imageTag ?? cluster.version.version.replace(/\+/g, "_");
    return [
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "kube-proxy", namespace: "kube-system" } },
        {
            apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "kubeadm:node-proxier" },
            roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: "system:node-proxier" },
            subjects: [{ kind: "ServiceAccount", name: "kube-proxy", namespace: "kube-system" }],
        },
        { apiVersion: RBAC, kind: "Role", metadata: { name: "kube-proxy", namespace: "kube-system" }, rules: [{ verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["kube-proxy"] }] },
        {
            apiVersion: RBAC, kind: "RoleBinding", metadata: { name: "kube-proxy", namespace: "kube-system" },
            roleRef: { apiGroup: RBAC_GROUP, kind: "Role", name: "kube-proxy" },
            subjects: [{ apiGroup: RBAC_GROUP, kind: "Group", name: DEFAULT_TOKEN_GROUP }],
        },
        {
            apiVersion: "v1", kind: "ConfigMap",
            // kubeadm signs the ConfigMap unless the user supplied the KubeProxyConfiguration.
            metadata: { name: "kube-proxy", namespace: "kube-system", labels: { app: "kube-proxy" }, ...(s.proxy?.config ? {} : { annotations: { [COMPONENT_CONFIG_HASH]: componentConfigHash(data) } }) },
            data,
        },
        {
            apiVersion: "apps/v1", kind: "DaemonSet",
            metadata: { labels: { "k8s-app": "kube-proxy" }, name: "kube-proxy", namespace: "kube-system" },
            spec: {
                selector: { matchLabels: { "k8s-app": "kube-proxy" } },
                updateStrategy: { type: "RollingUpdate" },
                template: {
                    metadata: { labels: { "k8s-app": "kube-proxy" } },
                    spec: {
                        priorityClassName: "system-node-critical",
                        containers: [{
                            name: "kube-proxy",
                            image: `${repository}/kube-proxy:${tag}`,
                            imagePullPolicy: "IfNotPresent",
                            command: ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"],
                            securityContext: { privileged: true },
                            volumeMounts: [
                                { mountPath: "/var/lib/kube-proxy", name: "kube-proxy" },
                                { mountPath: "/run/xtables.lock", name: "xtables-lock", readOnly: false },
                                { mountPath: "/lib/modules", name: "lib-modules", readOnly: true },
                            ],
                            env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
                        }],
                        hostNetwork: true,
                        serviceAccountName: "kube-proxy",
                        volumes: [
                            { name: "kube-proxy", configMap: { name: "kube-proxy" } },
                            { name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
                            { name: "lib-modules", hostPath: { path: "/lib/modules" } },
                        ],
                        tolerations: [{ operator: "Exists" }],
                        nodeSelector: { "kubernetes.io/os": "linux" },
                    },
                },
            },
        },
    ];
}

/** kubeadm's Corefile (phases/addons/dns), with the cache block kubeadm writes from 1.32. */
export function corefile(dnsDomain: string, minor: string): string {
    const cache = Number(minor.split(".")[1]) >= 32 && dnsDomain
        ? `    cache 30 {\n       disable success ${dnsDomain}\n       disable denial ${dnsDomain}\n    }`
        : "    cache 30";
    return [
        ".:53 {",
        "    errors",
        "    health {",
        "       lameduck 5s",
        "    }",
        "    ready",
        `    kubernetes ${dnsDomain} in-addr.arpa ip6.arpa {`,
        "       pods insecure",
        "       fallthrough in-addr.arpa ip6.arpa",
        "       ttl 30",
        "    }",
        "    prometheus :9153",
        "    forward . /etc/resolv.conf {",
        "       max_concurrent 1000",
        "    }",
        cache,
        "    loop",
        "    reload",
        "    loadbalance",
        "}",
        "",
    ].join("\n");
}

/** kubeadm's image for CoreDNS: registry.k8s.io/coredns/coredns, or <imageRepository>/coredns for a mirror. */
export function coreDnsImage(cluster: ResolvedCluster): string {
    const s = cluster.spec;
    const cluster_repo = s.imageRepository ?? DEFAULTS.imageRepository;
    const repository = s.dns?.imageRepository ?? (cluster_repo === DEFAULTS.imageRepository ? `${cluster_repo}/coredns` : cluster_repo);
    return `${repository}/coredns:${s.dns?.imageTag ?? cluster.version.coredns}`;
}

/**
 * kubeadm's CoreDNS add-on: ConfigMap, RBAC, ServiceAccount, the Deployment (2 replicas) and the
 * kube-dns Service, from cmd/kubeadm/app/phases/addons/dns/manifests.go (kubernetes/kubernetes@008b3652959ca58af8be3fb5b6ecfe9ae7638282).
 */
export function coreDnsObjects(cluster: ResolvedCluster): KubeObject[] {
    const sel = { "k8s-app": "kube-dns" };
    return [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: "kube-system" }, data: { Corefile: corefile(cluster.networking.dnsDomain, cluster.version.minor) } },
        {
            apiVersion: RBAC, kind: "ClusterRole", metadata: { name: "system:coredns" },
            rules: [
                { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
                { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
            ],
        },
        {
            apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "system:coredns" },
            roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: "system:coredns" },
            subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: "kube-system" }],
        },
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "coredns", namespace: "kube-system" } },
        {
            apiVersion: "apps/v1", kind: "Deployment",
            metadata: { name: "coredns", namespace: "kube-system", labels: sel },
            spec: {
                replicas: 2,
                strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
                selector: { matchLabels: sel },
                template: {
                    metadata: { labels: sel },
                    spec: {
                        priorityClassName: "system-cluster-critical",
                        serviceAccountName: "coredns",
                        affinity: {
                            podAntiAffinity: {
                                preferredDuringSchedulingIgnoredDuringExecution: [{
                                    weight: 100,
                                    podAffinityTerm: { labelSelector: { matchExpressions: [{ key: "k8s-app", operator: "In", values: ["kube-dns"] }] }, topologyKey: "kubernetes.io/hostname" },
                                }],
                            },
                        },
                        tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }, { key: CONTROL_PLANE_LABEL, effect: "NoSchedule" }],
                        nodeSelector: { "kubernetes.io/os": "linux" },
                        containers: [{
                            name: "coredns",
                            image: coreDnsImage(cluster),
                            imagePullPolicy: "IfNotPresent",
                            resources: { limits: { memory: "170Mi" }, requests: { cpu: "100m", memory: "70Mi" } },
                            args: ["-conf", "/etc/coredns/Corefile"],
                            volumeMounts: [{ name: "config-volume", mountPath: "/etc/coredns", readOnly: true }],
                            ports: [
                                { containerPort: 53, name: "dns", protocol: "UDP" },
                                { containerPort: 53, name: "dns-tcp", protocol: "TCP" },
                                { containerPort: 9153, name: "metrics", protocol: "TCP" },
                                { containerPort: 8080, name: "liveness-probe", protocol: "TCP" },
                                { containerPort: 8181, name: "readiness-probe", protocol: "TCP" },
                            ],
                            livenessProbe: { httpGet: { path: "/health", port: "liveness-probe", scheme: "HTTP" }, initialDelaySeconds: 60, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5 },
                            readinessProbe: { httpGet: { path: "/ready", port: "readiness-probe", scheme: "HTTP" } },
                            securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] }, readOnlyRootFilesystem: true },
                        }],
                        dnsPolicy: "Default",
                        volumes: [{ name: "config-volume", configMap: { name: "coredns", items: [{ key: "Corefile", path: "Corefile" }] } }],
                    },
                },
            },
        },
        {
            apiVersion: "v1", kind: "Service",
            metadata: {
                labels: { "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS" },
                name: "kube-dns", namespace: "kube-system",
                annotations: { "prometheus.io/port": "9153", "prometheus.io/scrape": "true" },
            },
            spec: {
                clusterIP: cluster.networking.dnsServiceIp,
                ports: [
                    { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
                    { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
                    { name: "metrics", port: 9153, protocol: "TCP", targetPort: 9153 },
                ],
                selector: sel,
            },
        },
    ];
}
