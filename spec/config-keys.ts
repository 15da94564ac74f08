import kubeletFields from "../render/kubelet-config-fields.json";
import kubernetesNames from "../render/kubernetes-names.json";
import { Problems, UNKNOWN_FIELD } from "./problems";
import { Arg } from "./types";
import { closest, unknownFieldAdvice } from "./unknown-fields";

/**
 * The names a Kubernetes minor accepts, from data files generated from its own sources:
 * render/kubelet-config-fields.json (scripts/kubelet-config-fields.ts) and
 * render/kubernetes-names.json (scripts/kubernetes-names.ts).
 */

type FieldTree = 1 | { [field: string]: FieldTree };
interface MinorNames {
    featureGates: string[];
    kubeadmFeatureGates: string[];
    kubeadmPreflightChecks: string[];
    kubeProxyConfiguration: FieldTree;
}
const NAMES = kubernetesNames.minors as unknown as Record<string, MinorNames>;
const KUBELET = Object.fromEntries(Object.entries(kubeletFields.minors).map(([minor, m]) => [minor, m.tree])) as unknown as Record<string, FieldTree>;
/** Listed in full after "accepted:" when a struct has at most this many fields; else the reference is named. */
const LISTED = 16;

/** kubelet.config: every key, at any depth, a field of KubeletConfiguration v1beta1 of this minor; its featureGates known gates. */
export function checkKubeletConfig(p: Problems, config: unknown, minor: string, field: string): void {
    const tree = KUBELET[minor];
    if (!tree) return;
    checkTree(p, config, tree, field, `KubeletConfiguration (kubelet.config.k8s.io/v1beta1) of Kubernetes ${minor}`);
    checkGateMap(p, (config as { featureGates?: unknown } | undefined)?.featureGates, minor, `${field}.featureGates`);
}

/** proxy.config: every key a field of KubeProxyConfiguration v1alpha1 of this minor; its featureGates known gates. */
export function checkProxyConfig(p: Problems, config: unknown, minor: string, field: string): void {
    const names = NAMES[minor];
    if (!names) return;
    checkTree(p, config, names.kubeProxyConfiguration, field, `KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) of Kubernetes ${minor}`);
    checkGateMap(p, (config as { featureGates?: unknown } | undefined)?.featureGates, minor, `${field}.featureGates`);
}

/** ClusterConfiguration.featureGates: kubeadm's own gates of this minor (kubeadm refuses any other). */
export function checkKubeadmFeatureGates(p: Problems, gates: unknown, minor: string, field: string): void {
    const known = NAMES[minor]?.kubeadmFeatureGates;
    if (!known || !isObject(gates)) return;
    for (const gate of Object.keys(gates)) {
        if (known.includes(gate)) continue;
        const component = NAMES[minor].featureGates.includes(gate) ? ` (${gate} is a Kubernetes component's gate: set it in kubelet.config.featureGates or a component's --feature-gates flag)` : "";
        p.add(`${field}.${gate}`, UNKNOWN_FIELD, `not a kubeadm ${minor} feature gate${component}: ${unknownFieldAdvice(gate, known, "kubeadm's gates")}`);
    }
}

/** A --feature-gates flag's value ("A=true,B=false") in extraArgs: known gates, each set to true or false. */
export function checkFeatureGateArgs(p: Problems, args: Arg[] | undefined, minor: string, field: string): void {
    if (!Array.isArray(args) || !NAMES[minor]) return;
    args.forEach((a, i) => {
        if (a?.name !== "feature-gates" || typeof a.value !== "string") return;
        for (const pair of a.value.split(",").map(s => s.trim()).filter(Boolean)) {
            const [gate, value] = pair.split("=").map(s => s.trim());
            if (!/^(true|false)$/i.test(value ?? "")) p.add(`${field}[${i}].value`, pair, "feature gates as name=true or name=false, separated by commas");
            checkGate(p, gate, minor, `${field}[${i}].value (${gate})`);
        }
    });
}

function checkGateMap(p: Problems, gates: unknown, minor: string, field: string): void {
    if (!isObject(gates)) return;
    for (const gate of Object.keys(gates)) checkGate(p, gate, minor, `${field}.${gate}`);
}

function checkGate(p: Problems, gate: string, minor: string, field: string): void {
    const known = NAMES[minor].featureGates;
    if (known.includes(gate)) return;
    const guess = closest(gate, known);
    p.add(field, UNKNOWN_FIELD, `not a feature gate of Kubernetes ${minor}${guess ? `: did you mean "${guess}"?` : ""} (its gates are listed at https://kubernetes.io/docs/reference/command-line-tools-reference/feature-gates/)`);
}

/** kubeadm's check names built from a port, path or service (checks.go's Name() methods). */
const CHECK_FAMILIES = /^(Port-\d{1,5}|(DirAvailable|FileAvailable|FileExisting|FileContent)-[^\s]+|Service-[A-Za-z0-9_.@-]+)$/i;

/** The check names ignorePreflightErrors may give: kubeadm's fixed ones of this minor, its families, and "all". */
export function isPreflightCheckName(name: string, minor: string): boolean {
    const fixed = NAMES[minor]?.kubeadmPreflightChecks ?? [];
    return name.toLowerCase() === "all" || CHECK_FAMILIES.test(name) || fixed.some(c => c.toLowerCase() === name.toLowerCase());
}

export function preflightCheckAdvice(name: string, minor: string): string {
    const fixed = NAMES[minor]?.kubeadmPreflightChecks ?? [];
    const guess = closest(name, [...fixed, "all"]) ?? closest(name.replace(/-.*$/, ""), ["Port", "DirAvailable", "FileAvailable", "FileExisting", "FileContent", "Service"]);
    return `a kubeadm preflight check name${guess ? `: did you mean "${guess}${fixed.includes(guess) || guess === "all" ? "" : "-…"}"?` : ""} (kubeadm ${minor}'s: ${fixed.join(", ")}; Port-<port>, DirAvailable-<path>, FileAvailable-<path>, FileExisting-<path or binary>, FileContent-<path>, Service-<name>, with '/' written '-', e.g. "FileContent--proc-sys-net-ipv4-ip_forward"; or "all")`;
}

function checkTree(p: Problems, value: unknown, tree: FieldTree, field: string, what: string): void {
    if (tree === 1 || !isObject(value)) return;
    if (Array.isArray(value)) {
        value.forEach((v, i) => checkTree(p, v, tree, `${field}[${i}]`, what));
        return;
    }
    const known = Object.keys(tree);
    if (known.length === 1 && known[0] === "*") {
        for (const [k, v] of Object.entries(value)) checkTree(p, v, tree["*"], `${field}.${k}`, what);
        return;
    }
    for (const [k, v] of Object.entries(value)) {
        if (v === undefined) continue;
        const sub = tree[k];
        if (sub === undefined) {
            const guess = closest(k, known);
            p.add(`${field}.${k}`, UNKNOWN_FIELD, known.length <= LISTED
                ? `not a field of ${what}: ${unknownFieldAdvice(k, known)}`
                : `not a field of ${what}${guess ? `: did you mean "${guess}"?` : ""}`);
        } else checkTree(p, v, sub, `${field}.${k}`, what);
    }
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null;
}
