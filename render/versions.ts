import * as semver from "semver";
import table from "./versions.json";

/** Images kubeadm deploys for one Kubernetes minor (one row of versions.json). */
export interface VersionRow {
    minor: string;
    etcd: string;
    coredns: string;
    pause: string;
    minimumControlPlaneVersion?: string;
    minimumKubeletVersion?: string;
    latestKnownPatch: string;
    patchOverrides?: { fromPatch: string; etcd?: string; coredns?: string; pause?: string; source: string }[];
    source: string;
    notes?: string;
}

export interface ResolvedVersion {
    /** Normalised, with a leading "v": "v1.33.2". */
    version: string;
    minor: string;
    etcd: string;
    coredns: string;
    pause: string;
    row: VersionRow;
    /** Set when the patch version is newer than any the table knows. */
    warning?: string;
}

export const VERSION_ROWS: readonly VersionRow[] = table.minors as VersionRow[];

export const SUPPORTED_MINORS: readonly string[] = VERSION_ROWS.map(r => r.minor);

/** Parses "v1.33.2" / "1.33.2"; undefined for anything else (kubeadm's labels such as "stable-1" need the network). */
export function parseKubernetesVersion(text: string): semver.SemVer | undefined {
    if (typeof text !== "string" || !/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(text)) return undefined;
    return semver.parse(text.replace(/^v/, "")) ?? undefined;
}

export type VersionResult = { ok: true; value: ResolvedVersion } | { ok: false; accepted: string };

export function resolveVersion(text: string): VersionResult {
    const parsed = parseKubernetesVersion(text);
    if (!parsed) {
        return { ok: false, accepted: `a Kubernetes release version such as "v${VERSION_ROWS[VERSION_ROWS.length - 1].latestKnownPatch.replace(/^v/, "")}"` };
    }
    const minor = `${parsed.major}.${parsed.minor}`;
    const row = VERSION_ROWS.find(r => r.minor === minor);
    if (!row) {
        return { ok: false, accepted: `a supported minor: ${SUPPORTED_MINORS.join(", ")}` };
    }
    const version = `v${parsed.version}`;
    const images = { etcd: row.etcd, coredns: row.coredns, pause: row.pause };
    for (const o of row.patchOverrides ?? []) {
        if (semver.gte(parsed, o.fromPatch.replace(/^v/, ""))) {
            Object.assign(images, Object.fromEntries(Object.entries({ etcd: o.etcd, coredns: o.coredns, pause: o.pause }).filter(([, v]) => v)));
        }
    }
    const known = semver.lte(parsed, row.latestKnownPatch.replace(/^v/, ""));
    const warning = known ? undefined :
        `Kubernetes ${version} is newer than the versions table knows (up to ${row.latestKnownPatch}); ` +
        `using the ${minor} images: etcd ${images.etcd}, CoreDNS ${images.coredns}, pause ${images.pause}. ` +
        `Set etcd.imageTag / dns.imageTag if this release changed them.`;
    return { ok: true, value: { version, minor, ...images, row, warning } };
}
