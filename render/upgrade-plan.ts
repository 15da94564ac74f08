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
 * deployed: no downgrade, at most one minor up (the message lists the versions to go through). A
 * problem is a SpecError naming kubernetesVersion, so preview fails before anything changes.
 */
export function planUpgrade(deployed: DeployedVersions | undefined, target: DeployedVersions, nodes: PlanNodes): UpgradePlan {
    if (!deployed) return { kind: "install", to: target, table: "" };
    const from = semver.parse(bare(deployed.kubernetesVersion));
    const to = semver.parse(bare(target.kubernetesVersion));
    if (!from || !to) throw new Error(`cannot compare Kubernetes versions ${deployed.kubernetesVersion} and ${target.kubernetesVersion}`);
    const fail = (accepted: string) => {
        throw new SpecError([{ field: "kubernetesVersion", value: target.kubernetesVersion, accepted }], "upgrade");
    };
    if (semver.lt(to, from)) {
        fail(`${deployed.kubernetesVersion} or newer: the cluster runs ${deployed.kubernetesVersion} (recorded by the last pulumi up), and a cluster is never downgraded (kubeadm refuses it too); to go back, restore the etcd snapshot taken before the upgrade`);
    }
    const minors = SUPPORTED_MINORS;
    const gap = minors.indexOf(minorOf(target.kubernetesVersion)) - minors.indexOf(minorOf(deployed.kubernetesVersion));
    if (gap > 1) {
        const through = minors.slice(minors.indexOf(minorOf(deployed.kubernetesVersion)) + 1, minors.indexOf(minorOf(target.kubernetesVersion)))
            .map(m => VERSION_ROWS.find(r => r.minor === m)!.latestKnownPatch);
        fail(`at most one minor above the deployed ${deployed.kubernetesVersion}, as kubeadm upgrades: go through ${through.join(", then ")} first (set kubernetesVersion to each, pulumi up, then the next), then ${target.kubernetesVersion}`);
    }
    const kind: UpgradeKind = semver.eq(to, from) ? "unchanged" : gap === 1 ? "minor" : "patch";
    return { kind, from: deployed, to: target, table: kind === "unchanged" && deployed.etcd === target.etcd && deployed.coredns === target.coredns ? "" : planTable(deployed, target, nodes) };
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
