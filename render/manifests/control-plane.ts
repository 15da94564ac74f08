import * as net from "node:net";
import { joinHostPort } from "../../spec/network";
import { Arg, ControlPlaneComponentSpec, HostPathMount, NodeAddress } from "../../spec/types";
import { argumentsToCommand, argValue } from "../arguments";
import { minorAtLeast, Pod, staticPod } from "./static-pod";

/**
 * CA certificate directories kubeadm mounts into kube-apiserver and kube-controller-manager when
 * they exist on the node (controlplane/volumes.go); /etc/ssl/certs is always mounted.
 */
export const OPTIONAL_CA_DIRS = ["/etc/pki/ca-trust", "/etc/pki/tls/certs", "/etc/ca-certificates", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates"];

export interface ControlPlaneInput {
    /** Kubernetes minor ("1.33") and version ("v1.33.2"). */
    minor: string;
    version: string;
    imageRepository: string;
    node: NodeAddress;
    bindPort: number;
    certificatesDir: string;
    clusterName: string;
    serviceSubnet: string;
    podSubnet: string;
    dnsDomain: string;
    /** Client URLs of etcd; empty for etcd stacked on this node (the loopback). */
    etcdServers: string[];
    /** The node's existing OPTIONAL_CA_DIRS (kubeadm mounts only those). */
    caCertDirs: string[];
    /** kubeadm's external-CA mode: the controller-manager gets empty signing files. */
    externalCa: boolean;
    /** EncryptionConfiguration placed on the node, if any. */
    encryptionProviderConfig?: string;
    apiServer?: ControlPlaneComponentSpec;
    controllerManager?: ControlPlaneComponentSpec;
    scheduler?: ControlPlaneComponentSpec;
    /** Startup probe failure threshold: ceil(health-check timeout / 10 s); 24 for 4 minutes. */
    startupFailureThreshold?: number;
}

const image = (i: ControlPlaneInput, name: string) => `${i.imageRepository}/${name}:${i.version.replace(/\+/g, "_")}`;
const pathName = (dir: string) => dir.replace(/^\//, "").replace(/\//g, "-");
const caVolumes = (i: ControlPlaneInput): HostPathMount[] => [
    { name: "ca-certs", hostPath: "/etc/ssl/certs", mountPath: "/etc/ssl/certs", readOnly: true, pathType: "DirectoryOrCreate" },
    ...i.caCertDirs.filter(d => OPTIONAL_CA_DIRS.includes(d))
        .map(d => ({ name: pathName(d), hostPath: d, mountPath: d, readOnly: true, pathType: "DirectoryOrCreate" })),
];
const k8sCerts = (i: ControlPlaneInput): HostPathMount => ({ name: "k8s-certs", hostPath: i.certificatesDir, mountPath: i.certificatesDir, readOnly: true, pathType: "DirectoryOrCreate" });

/** User extraVolumes are added last and replace default volumes of the same name. */
function withExtraVolumes(defaults: HostPathMount[], extra: HostPathMount[] = []): HostPathMount[] {
    const names = new Set(extra.map(v => v.name));
    return [...defaults.filter(v => !names.has(v.name)), ...extra];
}

export function apiServerDefaultArgs(i: ControlPlaneInput): Arg[] {
    const pki = i.certificatesDir;
    const localEtcd = net.isIPv6(i.node.address) ? "https://[::1]:2379" : "https://127.0.0.1:2379";
    const args: Arg[] = [
        { name: "advertise-address", value: i.node.address },
        { name: "allow-privileged", value: "true" },
        { name: "authorization-mode", value: "Node,RBAC" },
        { name: "client-ca-file", value: `${pki}/ca.crt` },
        { name: "enable-admission-plugins", value: "NodeRestriction" },
        { name: "enable-bootstrap-token-auth", value: "true" },
        { name: "etcd-cafile", value: `${pki}/etcd/ca.crt` },
        { name: "etcd-certfile", value: `${pki}/apiserver-etcd-client.crt` },
        { name: "etcd-keyfile", value: `${pki}/apiserver-etcd-client.key` },
        { name: "etcd-servers", value: i.etcdServers.length ? i.etcdServers.join(",") : localEtcd },
        { name: "kubelet-client-certificate", value: `${pki}/apiserver-kubelet-client.crt` },
        { name: "kubelet-client-key", value: `${pki}/apiserver-kubelet-client.key` },
        { name: "kubelet-preferred-address-types", value: "InternalIP,ExternalIP,Hostname" },
        { name: "proxy-client-cert-file", value: `${pki}/front-proxy-client.crt` },
        { name: "proxy-client-key-file", value: `${pki}/front-proxy-client.key` },
        { name: "requestheader-allowed-names", value: "front-proxy-client" },
        { name: "requestheader-client-ca-file", value: `${pki}/front-proxy-ca.crt` },
        { name: "requestheader-extra-headers-prefix", value: "X-Remote-Extra-" },
        { name: "requestheader-group-headers", value: "X-Remote-Group" },
        { name: "requestheader-username-headers", value: "X-Remote-User" },
        { name: "secure-port", value: String(i.bindPort) },
        { name: "service-account-issuer", value: `https://kubernetes.default.svc.${i.dnsDomain}` },
        { name: "service-account-key-file", value: `${pki}/sa.pub` },
        { name: "service-account-signing-key-file", value: `${pki}/sa.key` },
        { name: "service-cluster-ip-range", value: i.serviceSubnet },
        { name: "tls-cert-file", value: `${pki}/apiserver.crt` },
        { name: "tls-private-key-file", value: `${pki}/apiserver.key` },
    ];
    return args;
}

/** The EncryptionConfiguration's directory, mounted read-only into kube-apiserver. */
export function encryptionConfigVolume(configPath: string): HostPathMount {
    const dir = configPath.replace(/\/[^/]+$/, "");
    return { name: "encryption-config", hostPath: dir, mountPath: dir, readOnly: true, pathType: "DirectoryOrCreate" };
}

export function apiServerPod(i: ControlPlaneInput): Pod {
    // The encryption config is one of the extraArgs the uploaded ClusterConfiguration records
    // (controlPlaneAdditions), after the user's own: kubeadm writes it after the defaults.
    const added = i.encryptionProviderConfig ? [{ name: "encryption-provider-config", value: i.encryptionProviderConfig }] : [];
    let command = argumentsToCommand(apiServerDefaultArgs(i), [...(i.apiServer?.extraArgs ?? []), ...added]);
    // kubeadm drops --authorization-mode when the user configures authorization with a file.
    if (argValue(command, "authorization-config") !== undefined) command = command.filter(a => !a.startsWith("--authorization-mode="));
    const volumes = [k8sCerts(i), ...caVolumes(i)];
    if (i.encryptionProviderConfig) volumes.push(encryptionConfigVolume(i.encryptionProviderConfig));
    return staticPod({
        name: "kube-apiserver",
        image: image(i, "kube-apiserver"),
        command: ["kube-apiserver", ...command],
        minor: i.minor,
        probe: { host: i.node.address, port: i.bindPort, scheme: "HTTPS" },
        liveness: "/livez",
        readiness: "/readyz",
        startup: "/livez",
        startupFailureThreshold: i.startupFailureThreshold ?? 24,
        requests: { cpu: "250m" },
        volumes: withExtraVolumes(volumes, i.apiServer?.extraVolumes),
        annotations: { "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": joinHostPort(i.node.address, i.bindPort) },
        env: i.apiServer?.extraEnvs,
    });
}

export function controllerManagerDefaultArgs(i: ControlPlaneInput): Arg[] {
    const pki = i.certificatesDir;
    const kubeconfig = "/etc/kubernetes/controller-manager.conf";
    const args: Arg[] = [
        { name: "authentication-kubeconfig", value: kubeconfig },
        { name: "authorization-kubeconfig", value: kubeconfig },
        { name: "bind-address", value: "127.0.0.1" },
        { name: "client-ca-file", value: `${pki}/ca.crt` },
        { name: "cluster-name", value: i.clusterName },
        { name: "cluster-signing-cert-file", value: i.externalCa ? "" : `${pki}/ca.crt` },
        { name: "cluster-signing-key-file", value: i.externalCa ? "" : `${pki}/ca.key` },
        { name: "controllers", value: "*,bootstrapsigner,tokencleaner" },
        { name: "kubeconfig", value: kubeconfig },
        { name: "leader-elect", value: "true" },
        { name: "requestheader-client-ca-file", value: `${pki}/front-proxy-ca.crt` },
        { name: "root-ca-file", value: `${pki}/ca.crt` },
        { name: "service-account-private-key-file", value: `${pki}/sa.key` },
        { name: "use-service-account-credentials", value: "true" },
    ];
    if (i.podSubnet) {
        args.push(
            { name: "allocate-node-cidrs", value: "true" },
            { name: "cluster-cidr", value: i.podSubnet },
            { name: "service-cluster-ip-range", value: i.serviceSubnet },
        );
    }
    return args;
}

export function controllerManagerPod(i: ControlPlaneInput): Pod {
    const command = argumentsToCommand(controllerManagerDefaultArgs(i), i.controllerManager?.extraArgs);
    const flexDir = argValue(command, "flex-volume-plugin-dir") ?? "/usr/libexec/kubernetes/kubelet-plugins/volume/exec";
    return loopbackComponentPod(i, "kube-controller-manager", command, 10257, "200m", [
        k8sCerts(i), ...caVolumes(i),
        { name: "kubeconfig", hostPath: "/etc/kubernetes/controller-manager.conf", mountPath: "/etc/kubernetes/controller-manager.conf", readOnly: true, pathType: "FileOrCreate" },
        // kubeadm 1.36 stopped mounting the FlexVolume plugin directory.
        ...(minorAtLeast(i.minor, 1, 36) ? [] : [{ name: "flexvolume-dir", hostPath: flexDir, mountPath: flexDir, pathType: "DirectoryOrCreate" as const }]),
    ], i.controllerManager, { liveness: "/healthz", startup: "/healthz" });
}

export function schedulerPod(i: ControlPlaneInput): Pod {
    const kubeconfig = "/etc/kubernetes/scheduler.conf";
    const command = argumentsToCommand([
        { name: "authentication-kubeconfig", value: kubeconfig },
        { name: "authorization-kubeconfig", value: kubeconfig },
        { name: "bind-address", value: "127.0.0.1" },
        { name: "kubeconfig", value: kubeconfig },
        { name: "leader-elect", value: "true" },
    ], i.scheduler?.extraArgs);
    return loopbackComponentPod(i, "kube-scheduler", command, 10259, "100m", [
        { name: "kubeconfig", hostPath: kubeconfig, mountPath: kubeconfig, readOnly: true, pathType: "FileOrCreate" },
    ], i.scheduler, { liveness: "/livez", readiness: "/readyz", startup: "/livez" });
}

/**
 * The controller-manager (HTTPS /healthz) and the scheduler (/livez, and /readyz for readiness) on
 * their bind address (kubeadm's getProbeAddress leaves the host empty for a wildcard bind, so the
 * kubelet probes the pod IP).
 */
function loopbackComponentPod(i: ControlPlaneInput, name: string, command: string[], port: number, cpu: string,
    volumes: HostPathMount[], spec: ControlPlaneComponentSpec | undefined, paths: { liveness: string; readiness?: string; startup: string }): Pod {
    const bind = argValue(command, "bind-address") ?? "127.0.0.1";
    return staticPod({
        name,
        image: image(i, name),
        command: [name, ...command],
        minor: i.minor,
        probe: { host: bind === "0.0.0.0" || bind === "::" ? "" : bind, port, scheme: "HTTPS" },
        ...paths,
        startupFailureThreshold: i.startupFailureThreshold ?? 24,
        requests: { cpu },
        volumes: withExtraVolumes(volumes, spec?.extraVolumes),
        env: spec?.extraEnvs,
    });
}
