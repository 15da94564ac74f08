import { deepMerge } from "../spec/merge";
import { Arg, HostSpec, Taint } from "../spec/types";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import type { HostFacts } from "./control-plane-scripts";
import { argumentsToCommand } from "./arguments";
import { minorAtLeast } from "./manifests/static-pod";
import { toYaml } from "./yaml";

export const KUBELET_DROPIN_DIR = "/etc/systemd/system/kubelet.service.d";

/**
 * kubeadm's HA etcd guide: on a dedicated etcd host the kubelet only manages static pods, with
 * this KubeletConfiguration (kept in the drop-in directory, as the guide does).
 */
export function etcdHostKubeletConfig(criSocket: string): string {
    return toYaml({
        address: "127.0.0.1",
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        authentication: { anonymous: { enabled: false }, webhook: { enabled: false } },
        authorization: { mode: "AlwaysAllow" },
        cgroupDriver: "systemd",
        containerRuntimeEndpoint: criSocket,
        kind: "KubeletConfiguration",
        staticPodPath: "/etc/kubernetes/manifests",
    });
}

/**
 * `20-etcd-service-manager.conf`: replaces the packaged ExecStart so kubelet runs standalone. No
 * kubeadm-flags.env and so no --node-ip: this kubelet has no kubeconfig and registers no Node (it
 * serves on 127.0.0.1 only), so there is no address to choose.
 */
export function etcdServiceManagerDropIn(): string {
    return [
        "[Service]",
        "ExecStart=",
        `ExecStart=/usr/bin/kubelet --config=${KUBELET_DROPIN_DIR}/kubelet.conf`,
        "Restart=always",
        "",
    ].join("\n");
}

/** `10-kubeadm.conf` as the kubeadm deb/rpm package ships it (kubeadm never edits it). */
export function kubeadmDropIn(): string {
    return [
        "# Note: This dropin only works with kubeadm and kubelet v1.11+",
        "[Service]",
        "Environment=\"KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf\"",
        "Environment=\"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml\"",
        "# This is a file that \"kubeadm init\" and \"kubeadm join\" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically",
        "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env",
        "# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use",
        "# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.",
        "EnvironmentFile=-/etc/default/kubelet",
        "ExecStart=",
        "ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS",
        "",
    ].join("\n");
}

export interface KubeletInput {
    /** Kubernetes minor ("1.33"). */
    minor: string;
    criSocket: string;
    imageRepository: string;
    pauseTag: string;
    certificatesDir: string;
    dnsServiceIp: string;
    dnsDomain: string;
    /** Cluster-wide kubelet.extraArgs, then the host's own (kubeadm's nodeRegistration.kubeletExtraArgs). */
    extraArgs: Arg[];
    /** Fields merged over the generated KubeletConfiguration (spec.kubelet.config). */
    config?: Record<string, unknown>;
    /** Set when systemd-resolved runs on the node, as kubeadm detects it. */
    resolvConf?: string;
    /** Flags kubeadm adds for this node (--hostname-override, --register-with-taints); extraArgs still win. */
    nodeArgs?: Arg[];
    /** --node-ip, written as nodeRegistration.kubeletExtraArgs would: after every other flag. */
    nodeIp?: string;
}

/** The cluster's kubelet settings before any node's own: what kube-system/kubelet-config holds. */
export function clusterKubeletInput(cluster: ResolvedCluster): KubeletInput {
    const s = cluster.spec;
    return {
        minor: cluster.version.minor,
        criSocket: DEFAULTS.criSocket,
        imageRepository: s.imageRepository ?? DEFAULTS.imageRepository,
        pauseTag: cluster.version.pause,
        certificatesDir: s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir,
        dnsServiceIp: cluster.networking.dnsServiceIp,
        dnsDomain: cluster.networking.dnsDomain,
        extraArgs: s.kubelet?.extraArgs ?? [],
        config: s.kubelet?.config,
    };
}

/**
 * One node's, as kubeadm's kubelet-start writes them on that node: its CRI socket and extra flags,
 * the resolver of systemd-resolved when it runs there, --hostname-override when its hostname is not
 * the node name, and --register-with-taints for its taints. --node-ip is the host's address, as
 * nodeRegistration.kubeletExtraArgs' node-ip would write it (kubeadm itself writes none, and a
 * kubelet without it registers the first address it finds, which on a host with several interfaces
 * need not be hosts[].address); kubelet.extraArgs may not set it.
 */
export function nodeKubeletInput(cluster: ResolvedCluster, node: HostSpec, facts: Pick<HostFacts, "hostname" | "resolvConf">, taints: Taint[]): KubeletInput {
    return {
        ...clusterKubeletInput(cluster),
        criSocket: node.criSocket ?? DEFAULTS.criSocket,
        extraArgs: [...(cluster.spec.kubelet?.extraArgs ?? []), ...(node.kubeletExtraArgs ?? [])],
        resolvConf: facts.resolvConf || undefined,
        nodeArgs: [
            ...(facts.hostname !== node.name ? [{ name: "hostname-override", value: node.name }] : []),
            ...(taints.length ? [{ name: "register-with-taints", value: taintsFlag(taints) }] : []),
        ],
        nodeIp: node.address,
    };
}

/** `--register-with-taints`' value: key[=value]:effect, comma-separated. */
export function taintsFlag(taints: Taint[]): string {
    return taints.map(t => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join(",");
}

/** NodeLocalCRISocket is on by default from 1.34: the CRI endpoint moves from the flags into the config. */
const nodeLocalCriSocket = (minor: string) => minorAtLeast(minor, 1, 34);

/** `/var/lib/kubelet/config.yaml`: kubeadm's defaulted KubeletConfiguration (reference §4.4). */
export function kubeletConfig(i: KubeletInput): string {
    const generated: Record<string, any> = {
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        authentication: {
            anonymous: { enabled: false },
            webhook: { cacheTTL: "0s", enabled: true },
            x509: { clientCAFile: `${i.certificatesDir}/ca.crt` },
        },
        authorization: { mode: "Webhook", webhook: { cacheAuthorizedTTL: "0s", cacheUnauthorizedTTL: "0s" } },
        cgroupDriver: "systemd",
        clusterDNS: [i.dnsServiceIp],
        clusterDomain: i.dnsDomain,
        containerRuntimeEndpoint: nodeLocalCriSocket(i.minor) ? i.criSocket : "",
        cpuManagerReconcilePeriod: "0s",
        crashLoopBackOff: {},
        evictionPressureTransitionPeriod: "0s",
        fileCheckFrequency: "0s",
        healthzBindAddress: "127.0.0.1",
        healthzPort: 10248,
        httpCheckFrequency: "0s",
        imageMaximumGCAge: "0s",
        imageMinimumGCAge: "0s",
        logging: { flushFrequency: 0, options: { json: { infoBufferSize: "0" }, text: { infoBufferSize: "0" } }, verbosity: 0 },
        memorySwap: {},
        nodeStatusReportFrequency: "0s",
        nodeStatusUpdateFrequency: "0s",
        runtimeRequestTimeout: "0s",
        shutdownGracePeriod: "0s",
        shutdownGracePeriodCriticalPods: "0s",
        staticPodPath: "/etc/kubernetes/manifests",
        streamingConnectionIdleTimeout: "0s",
        syncFrequency: "0s",
        volumeStatsAggPeriod: "0s",
        ...(i.resolvConf ? { resolvConf: i.resolvConf } : {}),
    };
    const merged = deepMerge<Record<string, any>>(generated, i.config ?? {});
    // kubeadm forces these whatever the user's KubeletConfiguration says.
    merged.rotateCertificates = true;
    merged.staticPodPath = "/etc/kubernetes/manifests";
    return toYaml(merged);
}

/** `/var/lib/kubelet/kubeadm-flags.env` (reference §4.2): sorted flags, user args replacing defaults, Go %q quoting. */
export function kubeadmFlagsEnv(i: KubeletInput): string {
    const defaults: Arg[] = [];
    if (!nodeLocalCriSocket(i.minor)) defaults.push({ name: "container-runtime-endpoint", value: i.criSocket });
    if (!minorAtLeast(i.minor, 1, 35)) defaults.push({ name: "pod-infra-container-image", value: `${i.imageRepository}/pause:${i.pauseTag}` });
    defaults.push(...(i.nodeArgs ?? []));
    const extra = [...i.extraArgs, ...(i.nodeIp ? [{ name: "node-ip", value: i.nodeIp }] : [])];
    return `KUBELET_KUBEADM_ARGS=${JSON.stringify(argumentsToCommand(defaults, extra).join(" "))}\n`;
}

/**
 * `/var/lib/kubelet/instance-config.yaml` (NodeLocalCRISocket, on by default from 1.34): the
 * node's own CRI endpoint, which kubeadm applies over config.yaml on join and upgrade.
 */
export function kubeletInstanceConfig(i: Pick<KubeletInput, "minor" | "criSocket">): string | undefined {
    if (!nodeLocalCriSocket(i.minor)) return undefined;
    // kubeadm writes the one field as a patch, quoted, without apiVersion or kind.
    return `containerRuntimeEndpoint: ${JSON.stringify(i.criSocket)}\n`;
}
