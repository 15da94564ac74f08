// Writes render/kubernetes-names.json: per supported minor (render/versions.json, at its
// latestKnownPatch), the names Kubernetes itself accepts, read from the release's Go sources in
// the Go module cache (`go mod download`, through the Go module proxy):
// - featureGates: the component feature gates (kubelet, kube-proxy, control plane), declared in
//   k8s.io/kubernetes pkg/features and the staging modules' features packages;
// - kubeadmFeatureGates: kubeadm's own (cmd/kubeadm/app/features, ClusterConfiguration.featureGates);
// - kubeadmPreflightChecks: the fixed names of kubeadm's preflight checks (cmd/kubeadm/app/preflight/checks.go);
// - kubeProxyConfiguration: the field tree of KubeProxyConfiguration (k8s.io/kube-proxy config/v1alpha1).
// Run: npx tsc -p tsconfig.tools.json && node .tools/scripts/kubernetes-names.js
import * as fs from "node:fs";
import * as path from "node:path";
import { goStructs, treeFromGo } from "./config-trees";
import { moduleDir } from "./go-modules";
import { REPO_ROOT as ROOT } from "./real-tools";

const STAGING = ["component-base", "apiserver", "client-go", "apiextensions-apiserver", "controller-manager"];

function download(module: string, versions: string[]): { dir: string; version: string } {
    for (const version of versions) {
        try {
            return { dir: moduleDir(module, version), version };
        } catch {
            // this version is not served: the next one
        }
    }
    throw new Error(`${module}: none of ${versions.join(", ")} could be downloaded`);
}

function goFiles(dir: string, name: RegExp): string[] {
    const found: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory() && e.name !== "testdata" && e.name !== "vendor") walk(p);
            else if (e.isFile() && name.test(e.name) && !e.name.endsWith("_test.go")) found.push(p);
        }
    };
    walk(dir);
    return found;
}

const declaredGates = (files: string[]) => files.flatMap(f => [...fs.readFileSync(f, "utf8").matchAll(/^\s*\w+\s+(?:featuregate\.)?Feature\s*=\s*"(\w+)"/gm)].map(m => m[1]));

function forMinor(minor: string, patch: string) {
    const p = patch.replace(/^v1\./, "");
    const [, z] = p.split(".");
    // The newest patch first; older ones of the minor where the proxy does not serve it.
    const patches = (prefix: string) => [`${prefix}${p}`, ...Array.from({ length: Number(z) }, (_, i) => `${prefix}${minor.split(".")[1]}.${Number(z) - 1 - i}`)];
    const k8s = download("k8s.io/kubernetes", patches("v1."));
    const staging = STAGING.map(m => ({ module: m, ...download(`k8s.io/${m}`, patches("v0.")) }));
    const proxy = download("k8s.io/kube-proxy", patches("v0."));
    const gates = new Set(["AllAlpha", "AllBeta", ...declaredGates(goFiles(path.join(k8s.dir, "pkg/features"), /\.go$/))]);
    for (const s of staging) for (const g of declaredGates(goFiles(s.dir, /features\.go$/))) gates.add(g);

    const kubeadm = fs.readFileSync(path.join(k8s.dir, "cmd/kubeadm/app/features/features.go"), "utf8");
    const constants = Object.fromEntries([...kubeadm.matchAll(/^\s*(\w+)\s*=\s*"(\w+)"/gm)].map(m => [m[1], m[2]]));
    const list = /InitFeatureGates = FeatureList\{([\s\S]*?)\n\}/.exec(kubeadm)![1];
    const kubeadmGates = [...list.matchAll(/^\t(\w+):/gm)].map(m => constants[m[1]] ?? m[1]);

    const checks = fs.readFileSync(path.join(k8s.dir, "cmd/kubeadm/app/preflight/checks.go"), "utf8");
    const fixed = new Set([
        ...[...checks.matchAll(/\) Name\(\) string \{\n\s*return "([^"]+)"/g)].map(m => m[1]),
        ...[...checks.matchAll(/\b[Ll]abel:\s*"([^"]+)"/g)].map(m => m[1]),
    ]);

    const structs = goStructs([
        path.join(proxy.dir, "config/v1alpha1/types.go"),
        path.join(staging[0].dir, "config/v1alpha1/types.go"),
        path.join(staging[0].dir, "logs/api/v1/types.go"),
    ].filter(f => fs.existsSync(f)).map(f => fs.readFileSync(f, "utf8")));
    return {
        source: [`k8s.io/kubernetes@${k8s.version}`, ...staging.map(s => `k8s.io/${s.module}@${s.version}`), `k8s.io/kube-proxy@${proxy.version}`].join(", "),
        featureGates: [...gates].sort(),
        kubeadmFeatureGates: kubeadmGates.sort(),
        kubeadmPreflightChecks: [...fixed].sort(),
        kubeProxyConfiguration: treeFromGo(structs, "KubeProxyConfiguration"),
    };
}

if (require.main === module) {
    const table = JSON.parse(fs.readFileSync(path.join(ROOT, "render/versions.json"), "utf8"));
    const out = path.join(ROOT, "render/kubernetes-names.json");
    const minors = Object.fromEntries(table.minors.map((m: { minor: string; latestKnownPatch: string }) => [m.minor, forMinor(m.minor, m.latestKnownPatch)]));
    fs.writeFileSync(out, JSON.stringify({
        description: "Names each Kubernetes minor accepts: component feature gates, kubeadm's feature gates, kubeadm's fixed preflight check names (besides the Port-<n>, DirAvailable-<path>, FileAvailable-<path>, FileExisting-<path>, FileContent-<path> and Service-<name> families), and KubeProxyConfiguration's field tree (1: a field of free value; {\"*\": ...}: a map of structs). Generated by scripts/kubernetes-names.ts from the Go sources of each minor's latestKnownPatch in render/versions.json (or the newest patch of it the Go module proxy serves); `source` names the module versions read.",
        minors,
    }, null, 1) + "\n");
    console.log(`wrote ${out}`);
}
