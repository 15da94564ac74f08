import * as pulumi from "@pulumi/pulumi";
import { ResolvedVersion } from "../render/versions";
import { isDnsSubdomain, isIp } from "./network";
import { Problems } from "./problems";
import { EtcdMemberSettings, HostSpec, NodePreparationSpec } from "./types";
import { dataDirCheckName, ETCD_PREFLIGHT_CHECKS } from "../render/etcd-scripts";
import { checkUnknownFields, itemField } from "./unknown-fields";
import { checkArgs, checkEnvs, checkHostPath, checkIgnoredChecks, checkImageRepository, checkImageTag, checkSsh, checkVersion, checkDedicatedMemberCount, DEFAULTS, warnMemberCount } from "./validate";

/** Certificate files from ClusterPki (its outputs of the same names). */
export interface EtcdPki {
    /** Needs "etcd/ca.crt", "etcd/healthcheck-client.crt" and "apiserver-etcd-client.crt". */
    publicFiles: pulumi.Input<{ [path: string]: string }>;
    /** Needs "etcd/healthcheck-client.key" and "apiserver-etcd-client.key". Secret. @secret */
    privateFiles: pulumi.Input<{ [path: string]: string }>;
    /** Per member: "etcd/server.crt" and "etcd/peer.crt". */
    nodePublicFiles: pulumi.Input<{ [node: string]: { [path: string]: string } }>;
    /** Per member: "etcd/server.key" and "etcd/peer.key". Secret. @secret */
    nodePrivateFiles: pulumi.Input<{ [node: string]: { [path: string]: string } }>;
}

export interface EtcdClusterArgs extends EtcdMemberSettings {
    /** Kubernetes version whose etcd (image and flags) kubeadm would deploy. */
    kubernetesVersion: string;
    /** The hosts that run a member: 1, 3, 5 or 7. */
    members: HostSpec[];
    /** Certificates from ClusterPki. */
    pki: EtcdPki;
    /** "dedicated" (kubeadm's HA guide for etcd hosts, the default) or "stacked" (on control planes). */
    topology?: string;
    /** Default "/etc/kubernetes/pki". */
    certificatesDir?: string;
    /** Preflight checks to skip by name ("all" skips every check). */
    ignorePreflightErrors?: string[];
    /** How long the health gate waits for every member, in seconds. Default 300. */
    healthTimeoutSeconds?: number;
    /** Install the container runtime and the kubelet first (see ClusterSpec.nodePreparation). */
    nodePreparation?: NodePreparationSpec;
}

export interface EtcdPlan {
    version: ResolvedVersion;
    topology: string;
    dataDir: string;
    imageRepository: string;
    imageTag: string;
    certificatesDir: string;
    healthTimeoutSeconds: number;
    warnings: string[];
}

export function planEtcd(args: EtcdClusterArgs, p = new Problems()): EtcdPlan {
    checkUnknownFields(p, args, "EtcdCluster");
    const version = checkVersion(p, args.kubernetesVersion, "kubernetesVersion");
    const topology = args.topology ?? "dedicated";
    if (!["dedicated", "stacked"].includes(topology)) p.add("topology", topology, "\"dedicated\" or \"stacked\"");
    const members = Array.isArray(args.members) ? args.members : [];
    if (members.length === 0) p.add("members", args.members, "a list of at least one host to run an etcd member");
    const names = new Set<string>();
    const addresses = new Set<string>();
    members.forEach((m, i) => {
        const f = itemField("members", i, m);
        if (typeof m?.name !== "string" || !isDnsSubdomain(m.name)) p.add(`${f}.name`, m?.name, "a lower-case RFC 1123 subdomain");
        else if (names.has(m.name)) p.add(`${f}.name`, m.name, "a name no other member has");
        else names.add(m.name);
        if (typeof m?.address !== "string" || !isIp(m.address)) p.add(`${f}.address`, m?.address, "an IPv4 or IPv6 address");
        else if (addresses.has(m.address)) p.add(`${f}.address`, m.address, "an address no other member has");
        else addresses.add(m.address);
        checkSsh(p, m?.ssh, `${f}.ssh`, typeof m?.address === "string" ? m.address : undefined);
    });
    if (topology === "dedicated") checkDedicatedMemberCount(p, members.length, "members", members.map(m => m?.name));
    warnMemberCount(p, members.length, topology);
    checkArgs(p, args.extraArgs, "extraArgs", "etcd");
    checkEnvs(p, args.extraEnvs, "extraEnvs");
    const dataDir = args.dataDir ?? DEFAULTS.etcdDataDir;
    checkHostPath(p, dataDir, "dataDir", "/var/lib/etcd");
    const certificatesDir = args.certificatesDir ?? DEFAULTS.certificatesDir;
    checkHostPath(p, certificatesDir, "certificatesDir", "/etc/kubernetes/pki");
    checkIgnoredChecks(p, args.ignorePreflightErrors, "ignorePreflightErrors", [...ETCD_PREFLIGHT_CHECKS.filter(c => !c.startsWith("DirAvailable")), dataDirCheckName(dataDir)]);
    checkImageRepository(p, args.imageRepository, "imageRepository");
    checkImageTag(p, args.imageTag, "imageTag");
    members.forEach((m, i) => {
        if (m?.criSocket !== undefined && !/^(unix|npipe):\/\/\/?[A-Za-z0-9._/-]+$/.test(m.criSocket)) p.add(`${itemField("members", i, m)}.criSocket`, m.criSocket, "a CRI endpoint URL such as \"unix:///var/run/containerd/containerd.sock\"");
    });
    const timeout = args.healthTimeoutSeconds ?? 300;
    if (!Number.isInteger(timeout) || timeout <= 0) p.add("healthTimeoutSeconds", timeout, "a whole number of seconds greater than 0");
    p.throwIfAny("EtcdCluster args");
    return {
        version: version!, topology, dataDir, certificatesDir, healthTimeoutSeconds: timeout,
        imageRepository: args.imageRepository ?? DEFAULTS.imageRepository,
        imageTag: args.imageTag ?? version!.etcd,
        warnings: p.warnings,
    };
}
