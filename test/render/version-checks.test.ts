import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { APISERVER_MANIFEST, kubeletVersionCheck, runningVersionCheck } from "../../render/control-plane-scripts";
import { checkFunctions } from "../../render/preflight";
import { tempDir } from "../support/openssl";

// The skew rules a node's preflight applies on the host, in real bash: the kube-apiserver it runs
// (read from its manifest) against the target, and its kubelet against kubeadm's skew policy.
let t: ReturnType<typeof tempDir>;
beforeAll(() => { t = tempDir(); });
afterAll(() => t.remove());

function run(script: string, env: Record<string, string> = {}) {
    const r = spawnSync("bash", ["-c", `set -euo pipefail\nHOST=cp-1 STEP=preflight\nfail() { echo "$*" >&2; exit 1; }\n${script}`], { encoding: "utf8", env: { ...process.env, ...env } });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

function runningAgainst(manifestImage: string | undefined, version: string, walkFrom?: string) {
    const manifest = path.join(t.dir, `kube-apiserver-${Math.random().toString(36).slice(2)}.yaml`);
    if (manifestImage) fs.writeFileSync(manifest, `apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    image: ${manifestImage}\n  - image: registry.k8s.io/kube-apiserver:v9.9.9\n`);
    return run(runningVersionCheck(version, walkFrom).split(APISERVER_MANIFEST).join(manifest));
}

describe("the running kube-apiserver against kubernetesVersion", () => {
    test.each([
        ["no control plane yet", undefined, "v1.37.2"],
        ["the same release", "registry.k8s.io/kube-apiserver:v1.37.2", "v1.37.2"],
        ["a newer patch", "registry.k8s.io/kube-apiserver:v1.37.2", "v1.37.10"],
        ["the next minor", "registry.k8s.io/kube-apiserver:v1.36.8", "v1.37.2"],
        ["a mirror's image", "mirror.example:5000/k8s/kube-apiserver:v1.36.8", "v1.37.2"],
    ])("%s: passes", (_what, image, version) => {
        expect(runningAgainst(image, version)).toEqual({ code: 0, out: "", err: "" });
    });

    test("a downgrade is refused, compared as versions (1.37.10 is newer than 1.37.9)", () => {
        expect(runningAgainst("registry.k8s.io/kube-apiserver:v1.37.10", "v1.37.9")).toEqual({ code: 1, out: "",
            err: "this node runs kube-apiserver v1.37.10; v1.37.9 would downgrade it, which kubeadm refuses: set kubernetesVersion to v1.37.10 or newer" });
    });

    test("two minors ahead is refused; with upgrade.through from the next minor it passes", () => {
        expect(runningAgainst("registry.k8s.io/kube-apiserver:v1.35.2", "v1.37.2")).toMatchObject({ code: 1,
            err: "this node runs kube-apiserver v1.35.2; v1.37.2 is more than one minor ahead, and kubeadm upgrades one minor at a time: go through each minor in between first (or list them in upgrade.through)" });
        expect(runningAgainst("registry.k8s.io/kube-apiserver:v1.35.2", "v1.37.2", "v1.36.8")).toMatchObject({ code: 0 });
    });
});

describe("the kubelet against kubeadm's skew policy", () => {
    const kubelet = (version: string) => {
        const bin = fs.mkdtempSync(path.join(t.dir, "bin-"));
        fs.writeFileSync(path.join(bin, "kubelet"), `#!/bin/sh\necho "Kubernetes ${version}"\n`, { mode: 0o755 });
        return run(checkFunctions([]) + kubeletVersionCheck({ version: "v1.37.2", minimumKubeletVersion: "v1.34.0" }), { PATH: `${bin}:${process.env.PATH}` });
    };

    test.each(["v1.34.0", "v1.35.14", "v1.37.2", "v1.37.9"])("kubelet %s for a v1.37.2 control plane: passes", version => {
        expect(kubelet(version)).toEqual({ code: 0, out: "", err: "" });
    });

    test.each(["v1.33.15", "v1.38.0"])("kubelet %s for a v1.37.2 control plane: refused, naming the range", version => {
        expect(kubelet(version)).toEqual({ code: 1, out: "", err: `[cp-1] preflight: 1 check(s) failed:
  - KubeletVersion: the kubelet is ${version}; a control plane at v1.37.2 needs a kubelet from v1.34.0 to v1.37.x (the skew policy); install the kubelet of v1.37.2
Fix them, or skip a check by adding its name to ignorePreflightErrors.` });
    });
});
