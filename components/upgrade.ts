import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { upgradePreflightScript } from "../render/control-plane-scripts";
import { ETCD_SNAPSHOT_PREFIX, etcdSnapshotScript } from "../render/etcd-scripts";
import { remoteBash } from "../render/scripts";
import { deployedVersions, DeployedVersions, planUpgrade, UpgradePlan } from "../render/upgrade-plan";
import { EtcdSnapshot } from "../spec/types";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { connectionOf, later, STEP } from "./connection";

// A cluster's upgrade steps: the record of what was deployed (and the skew check against it in
// preview), kubeadm upgrade's health checks, and the etcd snapshot before a version change.

const UPGRADE_PLANS = new WeakMap<pulumi.Resource, pulumi.Output<UpgradePlan>>();
/** The upgrade a Cluster's run makes (known in preview; at up it resolves once everything has changed). Not an output of the component. */
export function upgradePlanOf(cluster: pulumi.Resource): pulumi.Output<UpgradePlan> {
    return UPGRADE_PLANS.get(cluster)!;
}

/**
 * The versions this program deploys, recorded in the state once everything else has succeeded (a
 * Stash). In preview the record is read as it is (ignoreChanges keeps the last deployment's value)
 * and the skew rules are checked against it: a downgrade or a jump of more than one minor fails the
 * preview, before anything changes; otherwise kubeadm's plan table is logged.
 */
export function recordUpgrade(parent: pulumi.Resource, name: string, cluster: ResolvedCluster, last: pulumi.Resource[]): void {
    const s = cluster.spec;
    const target = deployedVersions(cluster.version, s.etcd?.imageTag ?? cluster.version.etcd, s.dns?.imageTag ?? cluster.version.coredns);
    const preview = pulumi.runtime.isDryRun();
    const record = new pulumi.Stash(`${name}-deployed-versions`, { input: target },
        preview ? { parent, ignoreChanges: ["input"] } : { parent, dependsOn: last });
    const nodes = {
        controlPlanes: cluster.controlPlanes.map(h => h.name),
        etcdMembers: cluster.etcdTopology === "external" ? [] : cluster.etcdMembers.map(h => h.name),
        workers: cluster.workers.map(h => h.name),
        kubeletBatch: s.nodePreparation ? s.upgrade?.maxUnavailable ?? DEFAULTS.maxUnavailable : undefined,
        dedicatedEtcd: cluster.etcdTopology === "dedicated",
    };
    UPGRADE_PLANS.set(parent, record.input.apply((deployed: DeployedVersions | undefined) => {
        const plan = planUpgrade(preview ? deployed : target, target, nodes, preview ? s.upgrade?.through : []);
        if (preview && plan.table) pulumi.log.info(`${plan.kind} upgrade ${plan.from!.kubernetesVersion} → ${plan.to.kubernetesVersion}:\n${plan.table}`, parent);
        if (preview && plan.from && plan.from.kubernetesVersion !== plan.to.kubernetesVersion && s.upgrade?.registration === "afterAll") {
            const last = cluster.controlPlanes[cluster.controlPlanes.length - 1].name;
            pulumi.log.warn(`upgrade.registration "afterAll": each upgraded control plane stays out of the load balancer while another still serves ${plan.from.kubernetesVersion}, so fewer serve the API at ${cluster.endpoint.host}:${cluster.endpoint.port} as the upgrade goes on; when the last one (${last}) goes out, the load balancer switches over to the upgraded ones. Clients never meet two API versions`, parent);
        }
        return plan;
    }));
}

/**
 * The etcd snapshot before a version change, on the first etcd member (the first control plane when
 * etcd is stacked). Its command names the versions it is taken before, so it runs on a change of
 * either (and on a new cluster, where there is nothing to keep yet) and not otherwise.
 */
export function etcdSnapshotStep(name: string, cluster: ResolvedCluster, after: pulumi.Resource, parent: pulumi.Resource): { step: command.remote.Command; host: string } | undefined {
    const s = cluster.spec;
    if (s.upgrade?.etcdSnapshot === false || cluster.etcdTopology === "external") return undefined;
    const member = cluster.etcdTopology === "stacked" ? cluster.controlPlanes[0] : cluster.etcdMembers[0];
    const step = new command.remote.Command(`${name}-etcd-snapshot`, {
        connection: connectionOf(member),
        create: remoteBash(etcdSnapshotScript({
            host: member.name, step: "etcd snapshot", member, certificatesDir: s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir,
            dataDir: s.etcd?.dataDir ?? DEFAULTS.etcdDataDir, before: upgradeTarget(cluster), timeoutSeconds: ETCD_SNAPSHOT_TIMEOUT_SECONDS, keep: s.upgrade?.etcdSnapshotsKept ?? DEFAULTS.etcdSnapshotsKept,
        }), { host: member.name, step: "etcd-snapshot" }),
        ...STEP,
    }, { parent, dependsOn: [after] });
    return { step, host: member.name };
}

/** etcd databases are at most 8 GiB by default; this streams one over a slow link. */
const ETCD_SNAPSHOT_TIMEOUT_SECONDS = 900;

/** The versions a version change goes to: its upgrade steps name them, so they run on a change of either and not otherwise. */
const upgradeTarget = (cluster: ResolvedCluster) => `${cluster.version.version}-etcd-${cluster.spec.etcd?.imageTag ?? cluster.version.etcd}`;

/** How long kubeadm upgrade's health checks read a failing check again before they refuse the upgrade. */
const HEALTH_SETTLE_SECONDS = 30;

/** kubeadm upgrade's health checks on the first control plane: every control plane ready, every etcd member healthy. */
export function upgradePreflightStep(name: string, cluster: ResolvedCluster, after: Promise<pulumi.Resource[]>, parent: pulumi.Resource): command.remote.Command {
    const s = cluster.spec;
    const first = cluster.controlPlanes[0];
    return new command.remote.Command(`${name}-upgrade-preflight`, {
        connection: connectionOf(first),
        create: remoteBash(upgradePreflightScript({
            host: first.name, step: "upgrade preflight", controlPlanes: cluster.controlPlanes, bindPort: s.apiServer?.bindPort ?? DEFAULTS.bindPort,
            certificatesDir: s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir,
            etcdMembers: cluster.etcdTopology === "external" ? [] : cluster.etcdMembers, before: upgradeTarget(cluster),
            settleSeconds: HEALTH_SETTLE_SECONDS,
        }), { host: first.name, step: "upgrade-preflight" }),
        ...STEP,
    }, { parent, dependsOn: later(after) });
}

export function parseEtcdSnapshot(stdout: string, host: string): EtcdSnapshot | undefined {
    const line = String(stdout ?? "").split("\n").find(l => l.startsWith(ETCD_SNAPSHOT_PREFIX));
    const m = line && /^(\S+) sha256:([0-9a-f]{64})$/.exec(line.slice(ETCD_SNAPSHOT_PREFIX.length));
    return m ? { host, path: m[1], sha256: m[2] } : undefined;
}
