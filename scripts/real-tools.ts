// The TypeScript side of scripts/real-tools.sh: the versions pinned in tools/versions.env and where
// the built binaries are. A binary that is not built is an error that says how to build it, never
// a reason to skip.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const REPO_ROOT = fs.existsSync(path.join(__dirname, "..", "tools", "versions.env"))
    ? path.resolve(__dirname, "..")
    : path.resolve(__dirname, "..", "..");
const VERSIONS_FILE = path.join(REPO_ROOT, "tools", "versions.env");

/** tools/versions.env as KEY -> value (the file is shell: KEY="value" lines and comments). */
export function pinnedVersions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of fs.readFileSync(VERSIONS_FILE, "utf8").split("\n")) {
        const m = /^([A-Z][A-Z0-9_]*)="([^"]*)"\s*$/.exec(line);
        if (m) out[m[1]] = m[2];
    }
    return out;
}

function words(key: string): string[] {
    const v = pinnedVersions()[key];
    if (v === undefined) throw new Error(`tools/versions.env has no ${key}`);
    return v.split(/\s+/).filter(Boolean);
}

/** Kubernetes releases built in full (kubeadm and every component), newest first. */
export const kubernetesFull = (): string[] => words("KUBERNETES_FULL");
/** Every pinned Kubernetes release (one per supported minor), newest first. */
export const kubernetesReleases = (): string[] => [...words("KUBERNETES_FULL"), ...words("KUBERNETES_KUBEADM_ONLY")];
export const etcdVersions = (): string[] => words("ETCD_VERSIONS");

export function toolsCache(): string {
    return process.env.PULUMI_KUBEADM_TOOLS || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "pulumi-kubeadm", "tools");
}

/** The path of a built binary, e.g. realTool("etcd-v3.7.0", "etcd"); throws when it is not built. */
export function realTool(key: string, binary: string): string {
    const p = path.join(toolsCache(), key, "bin", binary);
    if (!fs.existsSync(path.join(toolsCache(), key, "built")) || !fs.existsSync(p)) {
        throw new Error(`real tool ${binary} (${key}) is not built in ${toolsCache()}: run \`bash scripts/real-tools.sh\` (scripts/install.sh does)`);
    }
    return p;
}

/** The real kubeadm of a pinned release ("v1.37.2"), from its full build or its kubeadm-only one. */
export function kubeadmOf(release: string): string {
    const key = kubernetesFull().includes(release) ? `kubernetes-${release}` : `kubeadm-${release}`;
    return realTool(key, "kubeadm");
}

/** The real kubeadm of a supported minor ("1.37"): the pinned release of that minor. */
export function kubeadmOfMinor(minor: string): { release: string; path: string } {
    const release = kubernetesReleases().find(r => r.startsWith(`v${minor}.`));
    if (!release) throw new Error(`tools/versions.env pins no Kubernetes ${minor} release`);
    return { release, path: kubeadmOf(release) };
}

export const etcdctl = (): string => realTool(`etcdctl-${pinnedVersions().ETCDCTL_VERSION}`, "etcdctl");
export const etcdutl = (): string => realTool(`etcdctl-${pinnedVersions().ETCDCTL_VERSION}`, "etcdutl");

/** The Kubernetes provider's "<tag> <module version>" pin: the tag is the version it reports. */
const pulumiKubernetesTag = (): string => words("PULUMI_KUBERNETES")[0];

/**
 * The real Pulumi CLI and the plugins built here: `root` holds bin/pulumi (the Automation API's
 * PulumiCommand.get({ root })), `path` the directories to put first on PATH (the engine takes a
 * `pulumi-language-*` or `pulumi-resource-*` it finds there), `kubernetesProvider` its binary.
 */
export function pulumiTools(): { pulumi: string; root: string; path: string[]; kubernetesProvider: string; kubernetesProviderVersion: string } {
    const v = pinnedVersions();
    const pulumi = realTool(`pulumi-${v.PULUMI_VERSION}`, "pulumi");
    const yaml = realTool(`pulumi-language-yaml-${v.PULUMI_YAML_VERSION}`, "pulumi-language-yaml");
    const kubernetesProvider = realTool(`pulumi-resource-kubernetes-${pulumiKubernetesTag()}`, "pulumi-resource-kubernetes");
    return {
        pulumi, root: path.dirname(path.dirname(pulumi)), path: [pulumi, yaml, kubernetesProvider].map(p => path.dirname(p)),
        kubernetesProvider, kubernetesProviderVersion: pulumiKubernetesTag().replace(/^v/, ""),
    };
}
