import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pinnedVersions, REPO_ROOT, toolsCache } from "../../scripts/real-tools";
import { tempDir } from "../support/openssl";

const script = path.join(REPO_ROOT, "scripts/real-tools.sh");
const run = (env: NodeJS.ProcessEnv, ...sets: string[]) =>
    spawnSync("bash", [script, ...sets], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 300_000 });

describe("scripts/real-tools.sh", () => {
    test("with everything built, builds nothing and prints each tool's own version line", () => {
        const r = run({}, "etcd", "crictl", "pulumi");
        expect(r.status).toBe(0);
        const v = pinnedVersions();
        expect(r.stdout).toMatch(new RegExp(`^pulumi-${v.PULUMI_VERSION} +${v.PULUMI_VERSION} \\(cached\\)$`, "m"));
        // Plugins have no version flag: the version linked into them, as go version -m reads it.
        expect(r.stdout).toContain(`pulumi-language-yaml ${v.PULUMI_YAML_VERSION} (linked, go version -m) (cached)`);
        expect(r.stdout).toContain(`pulumi-resource-kubernetes ${v.PULUMI_KUBERNETES.split(" ")[0].slice(1)} (linked, go version -m) (cached)`);
        expect(r.stdout).toContain(`etcd-v3.7.0                        etcd Version: 3.7.0 (cached)`);
        expect(r.stdout).toContain(`crictl-${pinnedVersions().CRICTL_VERSION}                     crictl version ${pinnedVersions().CRICTL_VERSION.replace(/^v/, "")} (cached)`);
        expect(r.stdout).toMatch(new RegExp(`^real tools ready +\\d+ s, cache ${toolsCache()} `, "m"));
    });

    test("a version the module proxy does not serve stops the build, naming the tool, module, version, step and Go's error", () => {
        const { dir, remove } = tempDir("real-tools-");
        try {
            const versions = path.join(dir, "versions.env");
            fs.writeFileSync(versions, fs.readFileSync(path.join(REPO_ROOT, "tools/versions.env"), "utf8").replace(/^CRICTL_VERSION=.*$/m, 'CRICTL_VERSION="v1.35.0"'));
            const r = run({ PULUMI_KUBEADM_TOOL_VERSIONS: versions, PULUMI_KUBEADM_TOOLS: path.join(dir, "cache") }, "crictl");
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("real-tools: cannot build crictl-v1.35.0: sigs.k8s.io/cri-tools@v1.35.0 failed at 'go mod tidy'.");
            expect(r.stderr).toMatch(/--- go said .*\n[\s\S]*v1\.35\.0[\s\S]*Try: go list -m -json sigs\.k8s\.io\/cri-tools@v1\.35\.0/);
            expect(fs.existsSync(path.join(dir, "cache", "crictl-v1.35.0", "built"))).toBe(false);
            expect(run({}, "nonsense").stderr).toContain("real-tools: unknown set 'nonsense'; accepted: kubernetes kubeadm etcd crictl pulumi all");
        } finally {
            remove();
        }
    });
});
