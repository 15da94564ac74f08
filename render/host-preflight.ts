import { HostSpec } from "../spec/types";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { controlPlanePreflightScript, workerPreflightScript } from "./control-plane-scripts";
import { dataDirCheckName, ETCD_PREFLIGHT_CHECKS, etcdPreflightScript } from "./etcd-scripts";
import { preparationScript } from "./node-preparation";
import { remoteBash } from "./scripts";

/** How a host's preflight recognises what this cluster already runs there, and whether node preparation comes after it. */
export interface PreflightContext {
    /** sha256 of the cluster's ca.crt ("" when there is none yet: nothing on the host is this cluster's). */
    caSha256: string;
    /**
     * The cluster's nodePreparation prepares this host once every host's preflight passed (not in a
     * pass of upgrade.through): the checks of what it provides are then left to that step. A
     * preflight never prepares anything itself.
     */
    prepare: boolean;
    /** A pass of upgrade.through: a kube-apiserver must already run on the control plane. */
    requireRunning?: boolean;
    /** The first release of upgrade.through, for a pass whose own spec no longer lists it. */
    walkFrom?: string;
}

const common = (cluster: ResolvedCluster, host: HostSpec, c: PreflightContext) => {
    const s = cluster.spec;
    return {
        node: host, criSocket: host.criSocket ?? DEFAULTS.criSocket, certificatesDir: s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir,
        caSha256: c.caSha256, swapTolerated: s.kubelet?.config?.failSwapOn === false, kubeletMinor: cluster.version.minor, ignore: s.ignorePreflightErrors ?? [],
        preparedLater: c.prepare && s.nodePreparation !== undefined,
    };
};

/** kubeadm init/join --control-plane's preflight on a control-plane host of this cluster (with stacked etcd's checks). */
export function controlPlanePreflight(cluster: ResolvedCluster, host: HostSpec, c: PreflightContext): string {
    const s = cluster.spec;
    return remoteBash(controlPlanePreflightScript({
        host: host.name, step: "control-plane preflight", ...common(cluster, host, c), bindPort: s.apiServer?.bindPort ?? DEFAULTS.bindPort,
        stackedEtcdDataDir: cluster.etcdTopology === "stacked" ? s.etcd?.dataDir ?? DEFAULTS.etcdDataDir : undefined, version: cluster.version.version,
        walkFrom: c.walkFrom ?? s.upgrade?.through?.[0], requireRunning: c.requireRunning, requireKubectl: s.nodePreparation !== undefined,
    }), { host: host.name, step: "control-plane-preflight" });
}

/** kubeadm join's preflight on a worker of this cluster. */
export function workerPreflight(cluster: ResolvedCluster, host: HostSpec, c: PreflightContext): string {
    return remoteBash(workerPreflightScript({ host: host.name, step: "worker preflight", ...common(cluster, host, c) }), { host: host.name, step: "worker-preflight" });
}

/** The preflight of a dedicated etcd host (kubeadm's HA etcd guide), with the cluster's etcd settings. */
export function etcdPreflight(cluster: ResolvedCluster, host: HostSpec, c: PreflightContext & { etcdCaSha256: string }): string {
    const s = cluster.spec;
    const dataDir = s.etcd?.dataDir ?? DEFAULTS.etcdDataDir;
    const { preparedLater } = common(cluster, host, c);
    return remoteBash(etcdPreflightScript({
        host: host.name, step: "etcd preflight", member: host, topology: "dedicated", dataDir,
        certificatesDir: s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir, criSocket: host.criSocket ?? DEFAULTS.criSocket,
        ignore: etcdChecks(s.ignorePreflightErrors, dataDir) ?? [], caSha256: c.etcdCaSha256, preparedLater, kubeletMinor: cluster.version.minor,
    }), { host: host.name, step: "etcd-preflight" });
}

/**
 * With nodePreparation, a control plane's or worker's preparation step (after every host's
 * preflight): the installer, then the checks of what it provides. Undefined without nodePreparation.
 */
export function hostPreparation(cluster: ResolvedCluster, host: HostSpec): string | undefined {
    const s = cluster.spec;
    if (!s.nodePreparation) return undefined;
    const controlPlane = host.roles.includes("control-plane");
    const step = controlPlane ? "control-plane preparation" : "worker preparation";
    return remoteBash(preparationScript({
        host: host.name, step, nodePreparation: s.nodePreparation, version: cluster.version.version, ignore: s.ignorePreflightErrors ?? [],
        checks: { node: true, criSocket: host.criSocket ?? DEFAULTS.criSocket, ipv6: host.address.includes(":"), kubectl: controlPlane },
    }), { host: host.name, step: step.replace(" ", "-") });
}

/** The cluster's skipped checks that exist on etcd hosts (the list names every host's checks). */
export function etcdChecks(ignore: string[] | undefined, dataDir: string): string[] | undefined {
    const etcd = [...ETCD_PREFLIGHT_CHECKS.filter(c => !c.startsWith("DirAvailable")), dataDirCheckName(dataDir), "all"].map(c => c.toLowerCase());
    return ignore?.filter(c => etcd.includes(c.toLowerCase()));
}
