import * as pulumi from "@pulumi/pulumi";

/**
 * The typed input model of a cluster. Plain interfaces only (no unions, no functions) so the
 * same shapes can be served to Python, Go, C#, Java and YAML programs by the component provider.
 * Field names follow kubeadm's ClusterConfiguration / InitConfiguration where one exists.
 */
export interface ClusterSpec {
    /** Kubernetes version to deploy, e.g. "v1.37.2" (a leading "v" is optional). Required unless a kubeadm config gives it. */
    kubernetesVersion?: string;
    /** kubeadm's clusterName. Default "kubernetes". */
    clusterName?: string;
    /** Stable address of the API server, "host" or "host:port" (kubeadm's controlPlaneEndpoint). Required unless a kubeadm config gives it. */
    controlPlaneEndpoint?: string;
    networking?: NetworkingSpec;
    /** Every machine of the cluster and what it runs. */
    hosts: HostSpec[];
    etcd?: EtcdSpec;
    apiServer?: ApiServerSpec;
    controllerManager?: ControlPlaneComponentSpec;
    scheduler?: ControlPlaneComponentSpec;
    kubelet?: KubeletSpec;
    certificates?: CertificatesSpec;
    /** Registry for control-plane images. Default "registry.k8s.io". */
    imageRepository?: string;
    /** kubeadm feature gates (ClusterConfiguration.featureGates). */
    featureGates?: { [gate: string]: boolean };
    /** Preflight checks to skip, by name, like kubeadm's --ignore-preflight-errors ("all" skips every check). */
    ignorePreflightErrors?: string[];
    dns?: AddonSpec;
    proxy?: AddonSpec;
    /**
     * Taints of control-plane nodes (kubeadm's nodeRegistration.taints). Default
     * node-role.kubernetes.io/control-plane:NoSchedule; an empty list lets workloads run on them.
     */
    controlPlaneTaints?: Taint[];
    /** Bootstrap tokens for joining nodes (kubeadm's InitConfiguration.bootstrapTokens). */
    bootstrapTokens?: BootstrapTokenSpec[];
    /** How the control planes are registered behind controlPlaneEndpoint. */
    loadBalancer?: LoadBalancerSpec;
    /** Secrets (and other resources) encrypted in etcd by kube-apiserver. On by default. */
    encryptionAtRest?: EncryptionAtRestSpec;
    /** How workers join (kubeadm's JoinConfiguration). */
    join?: JoinSpec;
    /** The CNI plug-in, applied from a manifest you supply (nothing is downloaded). */
    cni?: CniSpec;
    /** Installs the container runtime and the kubelet on the hosts before anything else. Off by default. */
    nodePreparation?: NodePreparationSpec;
    /** How a change of kubernetesVersion is carried out. */
    upgrade?: UpgradeSpec;
}

export interface UpgradeSpec {
    /**
     * Before a version change touches anything, save an etcd snapshot on the first etcd member
     * (the first control plane when etcd is stacked) under /var/lib/etcd-snapshots. Default true.
     */
    etcdSnapshot?: boolean;
    /** How many of those snapshots stay on the member, the newest; older ones are removed. Default 3. */
    etcdSnapshotsKept?: number;
    /**
     * Re-issue every leaf certificate (with the same keys) and the control planes' kubeconfig client
     * certificates when kubernetesVersion changes, as kubeadm upgrade renews them. CAs are never
     * renewed. Default true.
     */
    renewCertificates?: boolean;
    /**
     * How many workers have their kubelet upgraded at once (cordoned, drained, upgraded, Ready,
     * uncordoned), in the order of hosts. Control planes always go one at a time. Default 1.
     */
    maxUnavailable?: number;
    /** How long `kubectl drain` may take per node before the upgrade stops, in seconds. Default 300. */
    drainTimeoutSeconds?: number;
    /**
     * Drain with `kubectl drain --disable-eviction`: pods are deleted even where a
     * PodDisruptionBudget would block their eviction. Default false (a drain blocked by a
     * PodDisruptionBudget fails once drainTimeoutSeconds pass, naming the node).
     */
    disableEviction?: boolean;
    /** How long an upgraded kubelet may take to report its new version and Ready, in seconds. Default 300. */
    kubeletReadyTimeoutSeconds?: number;
    /**
     * When changed control planes return to the load balancer. "each" (default): each one as soon
     * as it is ready, so clients meet both versions for a while. "afterAll" (HAProxy only), as
     * kubeadm's classic HA guidance: a control plane whose kube-apiserver version differs from one
     * still serving stays out, and when the last old one goes out the load balancer switches over
     * to the upgraded ones in one command: clients never meet two API versions, and fewer control
     * planes serve during the upgrade (the preview warns). Decided at runtime from each control
     * plane's /version, so a change that keeps the version registers each one as it is ready.
     */
    registration?: string;
    /**
     * Opt in to walking more than one minor in one `pulumi up`: the releases in between, one per
     * minor, e.g. ["v1.36.5"] to go from v1.35 to v1.37. The control planes run each release in
     * turn (every one at a release before any goes to the next), then kubernetesVersion; the
     * kubelets and add-ons go straight to kubernetesVersion. Remove it once the walk is done.
     */
    through?: string[];
}

export interface JoinSpec {
    /**
     * How long a worker's join waits for its kubelet's TLS bootstrap (the CSR approved and
     * kubelet.conf written), in seconds. Default 300 (kubeadm's timeouts.tlsBootstrap); 0 does not wait.
     */
    tlsBootstrapTimeoutSeconds?: number;
}

export interface CniSpec {
    /** The manifest's YAML (one or more documents). */
    manifest?: string;
    /** Or a path to it, read where Pulumi runs. */
    manifestFile?: string;
    /** Text in the manifest replaced by networking.podSubnet, e.g. "10.244.0.0/16" in flannel's. */
    podSubnetPlaceholder?: string;
}

export interface NodePreparationSpec {
    /** "apt" (Debian, Ubuntu: pkgs.k8s.io), "dnf" (RHEL, Fedora: pkgs.k8s.io) or "command" (yours). */
    installer: string;
    /**
     * With "command": runs on each host as root, with KUBERNETES_VERSION (e.g. "1.37.2") and KUBERNETES_MINOR ("1.37") set.
     * It installs the kubelet at that version, and kubectl on control planes (kubelet upgrades drain nodes with it).
     */
    command?: string;
}

export interface LoadBalancerSpec {
    /**
     * "haproxy" (HAProxy on the hosts with the "load-balancer" role; the default when there are
     * such hosts), "kube-vip" (a static pod on each control plane holding the endpoint's VIP),
     * "external" (your load balancer, driven by registerCommand/deregisterCommand) or "none".
     */
    type?: string;
    /** HAProxy: the address the frontend binds on each load-balancer host. Default "*" (every address). */
    bindAddress?: string;
    kubeVip?: KubeVipSpec;
    external?: ExternalLoadBalancerSpec;
}

export interface KubeVipSpec {
    /** The network interface that carries the VIP, e.g. "eth0". */
    interface: string;
    /** The VIP. Default: controlPlaneEndpoint's host, which must then be an IP. */
    address?: string;
    /** Default "ghcr.io/kube-vip". */
    imageRepository?: string;
    /** Default: the kube-vip release pulumi-kubeadm was tested with. */
    imageTag?: string;
}

export interface ExternalLoadBalancerSpec {
    /**
     * Adds one control plane as a target, e.g. "aws elbv2 register-targets --target-group-arn arn:… --targets Id={{address}},Port={{port}}".
     * Placeholders: {{name}}, {{address}}, {{port}} (shell-quoted when substituted); it must name the node with {{name}} or {{address}}.
     */
    registerCommand: string;
    /** Removes one control plane; the same placeholders. */
    deregisterCommand: string;
    /** Run the commands on this host (a name from hosts) over SSH instead of where Pulumi runs. */
    runOn?: string;
}

export interface EncryptionAtRestSpec {
    /** Leave Secrets unencrypted in etcd (not recommended). */
    disabled?: boolean;
    /** "aescbc" (default, as Kubernetes' guide), "secretbox" or "aesgcm". */
    provider?: string;
    /** Resources to encrypt. Default ["secrets"]. */
    resources?: string[];
    /**
     * The key's generation, default 1 (key name "key1"). Raising it by one rotates the key: a new
     * key is added second on every control plane, then made first, every Secret is rewritten, and
     * the old key is dropped — each control plane's kube-apiserver restarting one at a time.
     */
    keyVersion?: number;
    /** Your own key instead of a generated one: base64 of exactly 32 random bytes (`head -c 32 /dev/urandom | base64`). Secret. @secret */
    key?: pulumi.Input<string>;
    /** With your own key and keyVersion above 1: the key of the previous version, still needed to read what it encrypted. Secret. @secret */
    previousKey?: pulumi.Input<string>;
    /**
     * With keyVersion above 1: the provider the previous key encrypted with, when the rotation also
     * moves the data to another provider. Default: provider.
     */
    previousProvider?: string;
}

export interface Taint {
    key: string;
    value?: string;
    /** "NoSchedule", "PreferNoSchedule" or "NoExecute". */
    effect: string;
}

export interface BootstrapTokenSpec {
    /** "[a-z0-9]{6}.[a-z0-9]{16}"; generated when omitted. Secret. @secret */
    token?: pulumi.Input<string>;
    description?: string;
    /** Go duration such as "24h" (the default); "0s" never expires. */
    ttl?: string;
    /** Default ["signing", "authentication"]. */
    usages?: string[];
    /** Default ["system:bootstrappers:kubeadm:default-node-token"]. */
    groups?: string[];
}

export interface NetworkingSpec {
    /** Pod network CIDR(s), comma-separated for dual-stack. Empty: the CNI allocates. */
    podSubnet?: string;
    /** Service CIDR(s), comma-separated for dual-stack. Default "10.96.0.0/12". */
    serviceSubnet?: string;
    /** Cluster DNS domain. Default "cluster.local". */
    dnsDomain?: string;
}

/** Role names a host may carry. */
export const HOST_ROLES = ["etcd", "control-plane", "worker", "load-balancer"] as const;

export interface HostSpec {
    /** Node name (kubeadm's nodeRegistration.name): a lower-case RFC 1123 subdomain. */
    name: string;
    /** The address other members reach this host on (kubeadm's advertiseAddress): an IP. */
    address: string;
    /** Any of "etcd", "control-plane", "worker", "load-balancer". */
    roles: string[];
    ssh: SshSpec;
    /** CRI socket on this host. Default "unix:///var/run/containerd/containerd.sock". */
    criSocket?: string;
    /** Extra kubelet flags for this host only, after the cluster-wide ones. */
    kubeletExtraArgs?: Arg[];
}

/** The etcd snapshot taken before the last version change. */
export interface EtcdSnapshot {
    /** The host it is kept on. */
    host: string;
    /** Its path there, under /var/lib/etcd-snapshots. */
    path: string;
    /** The lower-case hex SHA-256 of the file. */
    sha256: string;
}

/** A host of the cluster as the Cluster component lists it. */
export interface ClusterNode {
    name: string;
    address: string;
    roles: string[];
}

/** A node's name and the address its certificates carry. */
export interface NodeAddress {
    name: string;
    address: string;
}

/** How to log in over SSH. */
export interface SshCredentials {
    /** Default 22. */
    port?: number;
    /** Default "root". */
    user?: string;
    /** OpenSSH or PEM private key. Secret. @secret */
    privateKey?: pulumi.Input<string>;
    /** Passphrase of privateKey. Secret. @secret */
    privateKeyPassword?: pulumi.Input<string>;
    /** Password to log in with. Secret. @secret */
    password?: pulumi.Input<string>;
    /** ssh-agent socket to authenticate through. */
    agentSocketPath?: string;
    /**
     * The host key the connection must present (nothing is sent to a host that presents another):
     * `ssh-keyscan -p <port> <host>`'s output (one or more known_hosts lines, whose host must be the
     * one dialled), a line of the host's /etc/ssh/ssh_host_*_key.pub, or a SHA256 fingerprint
     * ("SHA256:…", as `ssh-keygen -lf` prints it), which the key read on the first run must match.
     * Required unless trustOnFirstUse is true.
     */
    hostKey?: string;
    /**
     * Without a hostKey: record the key the host presents on the first run (a step that reads the
     * host's public keys and sends nothing else) and pin it from then on. The preview says which hosts
     * are recorded on this run. Default false.
     */
    trustOnFirstUse?: boolean;
}

export interface SshSpec extends SshCredentials {
    /** Address to dial. Default: the host's address. */
    host?: string;
    /** A jump host to reach this host through. */
    bastion?: BastionSpec;
}

export interface BastionSpec extends SshCredentials {
    host: string;
}

/** One command-line flag, as kubeadm v1beta4's extraArgs: name without dashes, and value. */
export interface Arg {
    name: string;
    value: string;
}

/** A hostPath volume mounted into a static pod (kubeadm's HostPathMount). */
export interface HostPathMount {
    name: string;
    hostPath: string;
    mountPath: string;
    readOnly?: boolean;
    /** A Kubernetes HostPathType, e.g. "DirectoryOrCreate", "File". */
    pathType?: string;
}

export interface EnvVar {
    name: string;
    value: string;
}

export interface ControlPlaneComponentSpec {
    extraArgs?: Arg[];
    extraVolumes?: HostPathMount[];
    extraEnvs?: EnvVar[];
}

export interface ApiServerSpec extends ControlPlaneComponentSpec {
    /** Extra Subject Alternative Names for the API server certificate: DNS names, wildcards or IPs. */
    certSANs?: string[];
    /** Port the API server listens on at each control plane (kubeadm's localAPIEndpoint.bindPort). Default 6443. */
    bindPort?: number;
    /** How long to wait for a control plane's API server to become ready, in seconds. Default 240. */
    readinessTimeoutSeconds?: number;
}

/** How each etcd member runs (kubeadm's etcd.local). */
export interface EtcdMemberSettings {
    /** Data directory on each member. Default "/var/lib/etcd". */
    dataDir?: string;
    /** Default: the cluster's imageRepository ("registry.k8s.io"). */
    imageRepository?: string;
    /** Default: the etcd tag kubeadm uses for the Kubernetes version. */
    imageTag?: string;
    extraArgs?: Arg[];
    extraEnvs?: EnvVar[];
}

export interface EtcdSpec extends EtcdMemberSettings {
    /**
     * "stacked" (members on the control planes, the default), "dedicated" (members on the hosts
     * with role "etcd"), or "external" (an existing cluster given by `external`).
     */
    topology?: string;
    serverCertSANs?: string[];
    peerCertSANs?: string[];
    external?: ExternalEtcdSpec;
}

export interface ExternalEtcdSpec {
    /** Client URLs, e.g. "https://10.0.0.5:2379". */
    endpoints: string[];
    /** PEM of the CA that signed the etcd servers' certificates. */
    caCert: pulumi.Input<string>;
    /** PEM client certificate for the API server. */
    clientCert: pulumi.Input<string>;
    /** PEM client key for the API server. Secret. @secret */
    clientKey: pulumi.Input<string>;
}

export interface KubeletSpec {
    /** Flags for every kubelet, e.g. {name: "cloud-provider", value: "external"}. */
    extraArgs?: Arg[];
    /** Fields merged over the generated KubeletConfiguration (kubelet.config.k8s.io/v1beta1). */
    config?: { [field: string]: any };
    /** systemd drop-ins of your own for the kubelet, placed in /etc/systemd/system/kubelet.service.d/. */
    dropIns?: SystemdDropIn[];
}

export interface SystemdDropIn {
    /** File name ending in ".conf", e.g. "20-cloud-provider.conf". */
    name: string;
    /** e.g. "[Service]\nEnvironment=\"KUBELET_EXTRA_ARGS=--cloud-provider=aws\"\n". */
    content: string;
}

export interface AddonSpec {
    /** Leave this add-on out. */
    disabled?: boolean;
    imageRepository?: string;
    imageTag?: string;
    /** kube-proxy only: fields merged over the generated KubeProxyConfiguration (an error on dns, which has none). */
    config?: { [field: string]: any };
}

export interface CertificatesSpec {
    /** Validity of CA certificates in hours. Default 87600 (10 years). */
    caValidityHours?: number;
    /** Validity of every other certificate in hours. Default 8760 (1 year). */
    validityHours?: number;
    /** kubeadm's encryptionAlgorithm: "RSA-2048" (default), "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384". */
    encryptionAlgorithm?: string;
    /** Where certificates live on the hosts. Default "/etc/kubernetes/pki". */
    certificatesDir?: string;
    /** Bring your own Kubernetes CA (ca.crt / ca.key). */
    ca?: CaInput;
    /** Bring your own front-proxy CA. */
    frontProxyCa?: CaInput;
    /** Bring your own etcd CA. */
    etcdCa?: CaInput;
    /** Bring your own service-account signing key (PEM). Secret. @secret */
    serviceAccountKey?: pulumi.Input<string>;
    /**
     * Pre-signed leaf certificates: required for every leaf of a CA given without its key
     * (kubeadm's external-CA mode), otherwise not allowed.
     */
    preSigned?: PreSignedCert[];
}

export interface CaInput {
    certPem: pulumi.Input<string>;
    /** Omit for kubeadm's external-CA mode: then every leaf this CA signs must be pre-signed. Secret. @secret */
    keyPem?: pulumi.Input<string>;
}

export interface PreSignedCert {
    /** kubeadm's certificate name, e.g. "apiserver", "front-proxy-client", "etcd-server". */
    name: string;
    /** The node a per-node certificate ("apiserver", "etcd-server", "etcd-peer") belongs to. */
    node?: string;
    certPem: pulumi.Input<string>;
    /** Secret. @secret */
    keyPem: pulumi.Input<string>;
}
