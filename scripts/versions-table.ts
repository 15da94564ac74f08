// Writes render/versions.json: per supported minor, the images and skew minimums kubeadm itself
// uses, read from cmd/kubeadm/app/constants/constants.go of the release pinned in
// tools/versions.env (one per minor, the newest patch the Go module proxy serves), in the Go module
// cache. Each row records the module version it was read from.
// Run: npx tsc -p tsconfig.tools.json && node .tools/scripts/versions-table.js
import * as fs from "node:fs";
import * as path from "node:path";
import type { VersionRow } from "../render/versions";
import { moduleDir } from "./go-modules";
import { kubernetesReleases, REPO_ROOT } from "./real-tools";

export const CONSTANTS = "cmd/kubeadm/app/constants/constants.go";


/** The constants.go of a release, from the Go module cache. */
export function constantsSource(release: string): string {
    return fs.readFileSync(path.join(moduleDir("k8s.io/kubernetes", release), CONSTANTS), "utf8");
}

function stringConstant(source: string, name: string, release: string): string {
    const m = new RegExp(`^\\s*${name}\\s*=\\s*"([^"]+)"`, "m").exec(source);
    if (!m) throw new Error(`k8s.io/kubernetes@${release} ${CONSTANTS}: no string constant ${name}`);
    return m[1];
}

/** A version kubeadm derives from its own: getSkewedKubernetesVersion(n) is v1.(minor+n).0. */
function skewedConstant(source: string, name: string, minor: number, release: string): string {
    const m = new RegExp(`^\\s*${name}\\s*=\\s*getSkewedKubernetesVersion\\((-?\\d+)\\)`, "m").exec(source);
    if (!m) throw new Error(`k8s.io/kubernetes@${release} ${CONSTANTS}: ${name} is not getSkewedKubernetesVersion(n)`);
    return `v1.${minor + Number(m[1])}.0`;
}

/**
 * kubeadm's EtcdSupportedVersion: the SupportedEtcdVersion entry of the minor, else the entry of
 * the nearest minor the map has (its lowest below the map, its highest above it). The keys are
 * numbers or uint8(getSkewedKubernetesVersion(n).Minor()).
 */
function etcdForMinor(source: string, minor: number, release: string): string {
    const block = /SupportedEtcdVersion = map\[uint8\]string\{([^}]*)\}/.exec(source);
    if (!block) throw new Error(`k8s.io/kubernetes@${release} ${CONSTANTS}: no SupportedEtcdVersion map`);
    const entries = new Map<number, string>();
    for (const m of block[1].matchAll(/(?:(\d+)|uint8\(getSkewedKubernetesVersion\((-?\d+)\)\.Minor\(\)\))\s*:\s*"([^"]+)"/g)) {
        entries.set(m[1] !== undefined ? Number(m[1]) : minor + Number(m[2]), m[3]);
    }
    if (entries.size === 0) throw new Error(`k8s.io/kubernetes@${release} ${CONSTANTS}: SupportedEtcdVersion has no entry we can read`);
    const keys = [...entries.keys()].sort((a, b) => a - b);
    const key = entries.has(minor) ? minor : minor < keys[0] ? keys[0] : keys[keys.length - 1];
    return entries.get(key)!;
}

export function rowFromConstants(release: string, source: string): VersionRow {
    const m = /^v1\.(\d+)\.\d+$/.exec(release);
    if (!m) throw new Error(`${release} is not a Kubernetes release version`);
    const minor = Number(m[1]);
    return {
        minor: `1.${minor}`,
        etcd: etcdForMinor(source, minor, release),
        coredns: stringConstant(source, "CoreDNSVersion", release),
        pause: stringConstant(source, "PauseVersion", release),
        minimumControlPlaneVersion: skewedConstant(source, "MinimumControlPlaneVersion", minor, release),
        minimumKubeletVersion: skewedConstant(source, "MinimumKubeletVersion", minor, release),
        latestKnownPatch: release,
        source: `k8s.io/kubernetes@${release} ${CONSTANTS}`,
    };
}

export function generateTable(): { description: string; minors: VersionRow[] } {
    const rows = kubernetesReleases().map(r => rowFromConstants(r, constantsSource(r)));
    rows.sort((a, b) => Number(a.minor.split(".")[1]) - Number(b.minor.split(".")[1]));
    return {
        description: "What kubeadm deploys per supported Kubernetes minor (etcd, CoreDNS and pause image tags; the oldest control plane and kubelet it accepts), " +
            "read by scripts/versions-table.ts from cmd/kubeadm/app/constants/constants.go of the release pinned in tools/versions.env (latestKnownPatch, the newest patch proven here). " +
            "Every patch of a minor uses these images. Do not edit: change tools/versions.env and run the script.",
        minors: rows,
    };
}

if (require.main === module) {
    const out = path.join(REPO_ROOT, "render", "versions.json");
    fs.writeFileSync(out, JSON.stringify(generateTable(), null, 2) + "\n");
    console.log(`wrote ${out}`);
}
