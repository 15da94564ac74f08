import * as pulumi from "@pulumi/pulumi";
import { CA_CERT_HASH } from "../render/discovery";
import { ResolvedVersion } from "../render/versions";
import { Problems, show } from "./problems";
import { checkEndpoint, checkHosts, checkArgs, checkDropIns, checkHostPath, checkIgnoredChecks, checkImageRepository, checkNodePreparation, checkVersion, DEFAULTS } from "./validate";
import { checkUnknownFields } from "./unknown-fields";
import { checkFeatureGateArgs } from "./config-keys";
import { Arg, HostSpec, NodePreparationSpec, SystemdDropIn } from "./types";

/** `kubeadm join` for workers of a cluster known only by its endpoint, CA hash and a bootstrap token. */
export interface WorkerJoinArgs {
    /** The cluster's Kubernetes version, e.g. "v1.33.2": the kubelet is checked against it, and the join checks that the cluster runs this minor. */
    kubernetesVersion: string;
    /** The API server endpoint, "host" or "host:port" (kubeadm join's apiServerEndpoint; port 6443 when omitted). */
    controlPlaneEndpoint: string;
    /** A bootstrap token "[a-z0-9]{6}.[a-z0-9]{16}" (Cluster's joinCommand has one; or `kubeadm token create`). Secret. @secret */
    token: pulumi.Input<string>;
    /** --discovery-token-ca-cert-hash: "sha256:<hex>" pins of the cluster CA's public key (Cluster's discoveryTokenCaCertHash). */
    caCertHashes: string[];
    /** The machines to join (their roles are not read). */
    hosts: HostSpec[];
    /** Registry of the pause image named in kubeadm-flags.env before 1.35. Default "registry.k8s.io": give the cluster's imageRepository. */
    imageRepository?: string;
    /** Default "/etc/kubernetes/pki". */
    certificatesDir?: string;
    /** Flags for every joining kubelet (kubeadm's nodeRegistration.kubeletExtraArgs); each host's kubeletExtraArgs follow. */
    kubeletExtraArgs?: Arg[];
    /** systemd drop-ins of your own for the kubelet. */
    kubeletDropIns?: SystemdDropIn[];
    /** Preflight checks to skip by name ("all" skips every check). */
    ignorePreflightErrors?: string[];
    /** Install the container runtime and the kubelet first (see ClusterSpec.nodePreparation). */
    nodePreparation?: NodePreparationSpec;
    /** How long the join waits for the kubelet's TLS bootstrap, in seconds. Default 300; 0 does not wait. */
    tlsBootstrapTimeoutSeconds?: number;
    /** How long discovery retries for a signed cluster-info, in seconds (kubeadm's timeouts.discovery). Default 300. */
    discoveryTimeoutSeconds?: number;
}

export interface WorkerJoinPlan {
    version: ResolvedVersion;
    endpoint: { host: string; port: number };
    certificatesDir: string;
    imageRepository: string;
    tlsBootstrapTimeoutSeconds: number;
    discoveryTimeoutSeconds: number;
    warnings: string[];
}

export function planWorkerJoin(args: WorkerJoinArgs, p = new Problems()): WorkerJoinPlan {
    checkUnknownFields(p, args, "WorkerJoin");
    const version = checkVersion(p, args.kubernetesVersion, "kubernetesVersion");
    const endpoint = checkEndpoint(p, args.controlPlaneEndpoint, "controlPlaneEndpoint", DEFAULTS.bindPort);
    if (!Array.isArray(args.caCertHashes) || args.caCertHashes.length === 0) {
        p.add("caCertHashes", args.caCertHashes, "one or more \"sha256:<64 hex digits>\" (Cluster's discoveryTokenCaCertHash, or kubeadm's --discovery-token-ca-cert-hash)");
    } else {
        args.caCertHashes.forEach((h, i) => {
            if (typeof h !== "string" || !CA_CERT_HASH.test(h)) p.add(`caCertHashes[${i}]`, h, "\"sha256:\" and 64 lower-case hex digits, as kubeadm token create --print-join-command prints it");
        });
    }
    if (typeof args.token === "string") checkToken(p, args.token);
    const hosts = Array.isArray(args.hosts) ? args.hosts : [];
    if (hosts.length === 0) p.add("hosts", args.hosts, "a list of at least one host to join");
    // Roles are not read: every host here joins as a worker.
    checkHosts(p, hosts.map(h => (h && typeof h === "object" ? { ...h, roles: ["worker"] } : h)), undefined, endpoint.host);
    const certificatesDir = args.certificatesDir ?? DEFAULTS.certificatesDir;
    checkHostPath(p, certificatesDir, "certificatesDir", "/etc/kubernetes/pki");
    checkImageRepository(p, args.imageRepository, "imageRepository");
    checkArgs(p, args.kubeletExtraArgs, "kubeletExtraArgs", "kubelet");
    if (version) checkFeatureGateArgs(p, args.kubeletExtraArgs, version.minor, "kubeletExtraArgs");
    checkDropIns(p, args.kubeletDropIns, "kubeletDropIns");
    checkIgnoredChecks(p, args.ignorePreflightErrors, "ignorePreflightErrors", version?.minor);
    checkNodePreparation(p, args.nodePreparation, "nodePreparation");
    const seconds = (field: "tlsBootstrapTimeoutSeconds" | "discoveryTimeoutSeconds", min: number) => {
        const v = args[field] ?? 300;
        if (!Number.isInteger(v) || v < min) p.add(field, v, `a whole number of seconds, ${min} or more${min === 0 ? " (0: do not wait)" : ""}`);
        return v;
    };
    const tlsBootstrapTimeoutSeconds = seconds("tlsBootstrapTimeoutSeconds", 0);
    const discoveryTimeoutSeconds = seconds("discoveryTimeoutSeconds", 1);
    p.throwIfAny("WorkerJoin args");
    return {
        version: version!, endpoint, certificatesDir, imageRepository: args.imageRepository ?? DEFAULTS.imageRepository,
        tlsBootstrapTimeoutSeconds, discoveryTimeoutSeconds, warnings: p.warnings,
    };
}

/** A token known only at run time (secret config) is checked when its value arrives, with the same message. */
export function checkToken(p: Problems, token: unknown): void {
    if (typeof token !== "string" || !/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token)) {
        p.add("token", typeof token === "string" ? `${token.slice(0, 7)}… (${token.length} characters)` : show(token), "a bootstrap token: 6 then 16 characters of [a-z0-9], joined by a dot");
    }
}
