import * as semver from "semver";
import { SpecError } from "../spec/problems";
import { ResolvedVersion, SUPPORTED_MINORS, VERSION_ROWS } from "./versions";

/** What a successful `pulumi up` deployed, as the cluster records it in its state (a Stash). */
export interface DeployedVersions {
    kubernetesVersion: string;
    etcd: string;
    coredns: string;
}

/** The nodes a plan lists, by what they run. */
export interface PlanNodes {
    controlPlanes: string[];
    /** Members of etcd run by the cluster (stacked or dedicated); none for external etcd. */
    etcdMembers: string[];
    workers: string[];
    /** Kubelets are upgraded through the installer (nodePreparation), workers this many at a time; undefined: each node keeps its kubelet. */
    kubeletBatch?: number;
    /** etcd runs on its own hosts, which a walk (upgrade.through) takes straight to the target's etcd. */
    dedicatedEtcd?: boolean;
}

export type UpgradeKind = "install" | "unchanged" | "patch" | "minor";

export interface UpgradePlan {
    kind: UpgradeKind;
    from?: DeployedVersions;
    to: DeployedVersions;
    /** kubeadm upgrade plan's table (COMPONENT NODE CURRENT TARGET); empty when nothing changes. */
    table: string;
}

const bare = (v: string) => v.replace(/^v/, "");
const minorOf = (v: string) => bare(v).split(".").slice(0, 2).join(".");

/**
 * The skew rules of an upgrade (kubeadm's, reference §7.5), against the version the last `pulumi up`
 * deployed: no downgrade, at most one minor up (the message lists the versions to go through)
 * unless upgrade.through walks the minors in between, starting just above the deployed one. A
 * problem is a SpecError naming kubernetesVersion or upgrade.through, so preview fails before
 * anything changes.
 */
export function planUpgrade(deployed: DeployedVersions | undefined, target: DeployedVersions, nodes: PlanNodes, through: string[] = []): UpgradePlan {
    const fail = (field: string, value: unknown, accepted: string): never => {
        throw new SpecError([{ field, value, accepted }], "upgrade");
    };
    if (!deployed) {
        if (through.length) fail("upgrade.through", through, "nothing (remove it): no deployment is recorded for this stack, and a new cluster installs kubernetesVersion directly");
        return { kind: "install", to: target, table: "" };
    }
    const from = semver.parse(bare(deployed.kubernetesVersion));
    const to = semver.parse(bare(target.kubernetesVersion));
    if (!from || !to) throw new Error(`cannot compare Kubernetes versions ${deployed.kubernetesVersion} and ${target.kubernetesVersion}`);
    if (semver.lt(to, from)) {
        fail("kubernetesVersion", target.kubernetesVersion, `${deployed.kubernetesVersion} or newer: the cluster runs ${deployed.kubernetesVersion} (recorded by the last pulumi up), and a cluster is never downgraded (kubeadm refuses it too); to go back, restore the etcd snapshot taken before the upgrade`);
    }
    const minors = SUPPORTED_MINORS;
    const index = (v: string) => minors.indexOf(minorOf(v));
    const gap = index(target.kubernetesVersion) - index(deployed.kubernetesVersion);
    if (through.length) {
        if (index(through[0]) !== index(deployed.kubernetesVersion) + 1) {
            fail("upgrade.through[0]", through[0], index(through[0]) <= index(deployed.kubernetesVersion)
                ? `nothing (remove upgrade.through): ${semver.eq(from, to) ? `the stack records kubernetesVersion itself (${deployed.kubernetesVersion}): the walk is done, or this is a new cluster, which installs kubernetesVersion directly` : `the cluster already runs ${deployed.kubernetesVersion} (recorded by the last pulumi up)`}`
                : `a release of v${minors[index(deployed.kubernetesVersion) + 1]}, the minor just above the deployed ${deployed.kubernetesVersion}: one release per minor in between`);
        }
        const minimumKubelet = VERSION_ROWS.find(r => r.minor === minorOf(target.kubernetesVersion))!.minimumKubeletVersion;
        if (minimumKubelet && semver.lt(from, bare(minimumKubelet))) {
            fail("upgrade.through", through, `a shorter walk: the kubelets run ${deployed.kubernetesVersion} until the control planes reach ${target.kubernetesVersion}, which accepts kubelets from ${minimumKubelet}; walk to v${minors[index(minimumKubelet)]} first, then on`);
        }
        const etcdMinor = (v: string) => bare(v).split(".").slice(0, 2).join(".");
        if (nodes.dedicatedEtcd && etcdMinor(deployed.etcd) !== etcdMinor(target.etcd)) {
            fail("upgrade.through", through, `nothing with etcd on its own hosts crossing an etcd minor: they go straight from ${deployed.etcd} to ${target.etcd}, while etcd upgrades one minor at a time from its latest patch; go one Kubernetes minor per pulumi up`);
        }
    } else if (gap > 1) {
        const between = minors.slice(index(deployed.kubernetesVersion) + 1, index(target.kubernetesVersion)).map(m => VERSION_ROWS.find(r => r.minor === m)!.latestKnownPatch);
        fail("kubernetesVersion", target.kubernetesVersion, `at most one minor above the deployed ${deployed.kubernetesVersion}, as kubeadm upgrades: go through ${between.join(", then ")} first (set kubernetesVersion to each, pulumi up, then the next), then ${target.kubernetesVersion}; or walk them in this pulumi up with upgrade.through: ${JSON.stringify(between)}`);
    }
    const kind: UpgradeKind = semver.eq(to, from) ? "unchanged" : gap >= 1 ? "minor" : "patch";
    const walk = through.length ? `walk: ${[deployed.kubernetesVersion, ...through, target.kubernetesVersion].join(" → ")} (the control planes at each release in turn)\n` : "";
    return { kind, from: deployed, to: target, table: kind === "unchanged" && deployed.etcd === target.etcd && deployed.coredns === target.coredns ? "" : planTable(deployed, target, nodes) + walk };
}

/** `kubeadm upgrade plan`'s table: each component on each node, its current and target version. */
export function planTable(from: DeployedVersions, to: DeployedVersions, nodes: PlanNodes): string {
    const rows: string[][] = [["COMPONENT", "NODE", "CURRENT", "TARGET"]];
    for (const component of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
        for (const n of nodes.controlPlanes) rows.push([component, n, from.kubernetesVersion, to.kubernetesVersion]);
    }
    rows.push(["kube-proxy", "", from.kubernetesVersion, to.kubernetesVersion]);
    rows.push(["CoreDNS", "", `v${bare(from.coredns)}`, `v${bare(to.coredns)}`]);
    for (const n of nodes.etcdMembers) rows.push(["etcd", n, from.etcd, to.etcd]);
    const kubelet = nodes.kubeletBatch === undefined ? `${from.kubernetesVersion} (kept)` : to.kubernetesVersion;
    for (const n of [...nodes.controlPlanes, ...nodes.workers]) rows.push(["kubelet", n, from.kubernetesVersion, kubelet]);
    const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)));
    const note = from.kubernetesVersion === to.kubernetesVersion ? "" : nodes.kubeletBatch === undefined
        ? "kubelets are kept: without nodePreparation this program does not install packages; upgrade each node's kubelet and kubectl yourself, after the control planes (drain, upgrade, uncordon)\n"
        : `kubelets: control planes one at a time, then workers ${nodes.kubeletBatch} at a time (upgrade.maxUnavailable): cordon, drain, upgrade, Ready, uncordon\n`;
    return rows.map(r => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("   ").trimEnd()).join("\n") + "\n" + note;
}

/** What this program deploys, in the form it is recorded. */
export function deployedVersions(v: ResolvedVersion, etcdTag: string, corednsTag: string): DeployedVersions {
    return { kubernetesVersion: v.version, etcd: etcdTag, coredns: corednsTag };
}
