import { controlPlaneInstallScript, controlPlaneManifests, readinessGateScript, ROLLED_BACK_PREFIX } from "../../render/control-plane-scripts";
import { Lab, labHosts } from "../lab/lab";

// The install's backup and the readiness gate's rollback on one lab host, with two stand-ins the
// lab host does not have: crictl (reporting the kube-apiserver pod's config hash, as the kubelet
// sets it) and curl's answer from /readyz. Both are written inside the lab host only. Everything
// else is the real scripts in real bash.
const [HOST] = labHosts(["cp-1"]);
let lab: Lab;
const node = { name: "cp-1", address: "" };
const manifest = (name: string, image: string) => ({ path: `/etc/kubernetes/manifests/${name}.yaml`, mode: "0600", content: `kind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n  - image: ${image}\n` });
const install = (apiserver: string, kcm: string) => controlPlaneInstallScript({
    host: "cp-1", step: "install", node, bindPort: 6443, version: "v1.33.2", minimumKubeletVersion: "v1.30.0", kubeadmDropIn: "[Service]\n",
    certificatesDir: "/etc/kubernetes/pki", ignore: ["all"], timeoutSeconds: 5, backupManifests: true,
    files: [manifest("kube-apiserver", apiserver), manifest("kube-controller-manager", kcm), manifest("kube-scheduler", "sched:1")],
});
const gate = () => readinessGateScript({ host: "cp-1", step: "gate", node, bindPort: 6443, certificatesDir: "/etc/kubernetes/pki", timeoutSeconds: 6, after: "x", rollback: controlPlaneManifests(false) });
const sh = (script: string) => lab.exec("cp-1", script);
const image = async (name = "kube-apiserver") => (await sh(`sed -n 's/^ *- image: //p' /etc/kubernetes/manifests/${name}.yaml`)).stdout.trim();
const CRICTL = `#!/bin/sh\nprintf '{"items":[{"annotations":{"kubernetes.io/config.hash": "%s"}}]}\\n' "$(cat /var/lib/lab/apiserver-hash)"\n`;
const CURL = `#!/bin/sh\nif [ -e /var/lib/lab/unready ]; then printf 'not ready\\n500'; else printf 'ok\\n200'; fi\n`;

beforeAll(async () => {
    lab = await Lab.start([HOST]);
    node.address = HOST.address;
    // Inside the lab host (its own /usr overlay): crictl answers with the hash in /var/lib/lab/apiserver-hash,
    // curl answers 200 unless /var/lib/lab/unready exists.
    const r = await lab.exec("cp-1", `set -e
[ "$(cat /proc/sys/kernel/hostname)" = cp-1 ] || { echo "not inside the lab host" >&2; exit 1; }
base64 -d > /usr/bin/crictl <<< ${JSON.stringify(Buffer.from(CRICTL).toString("base64"))}
base64 -d > /usr/local/bin/curl <<< ${JSON.stringify(Buffer.from(CURL).toString("base64"))}
chmod 0755 /usr/bin/crictl /usr/local/bin/curl
echo old > /var/lib/lab/apiserver-hash`);
    expect(r.stderr).toBe("");
    expect((await sh(install("apiserver:v1.32.8", "kcm:1"))).code).toBe(0);
}, 120_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

describe("the install's manifest backup and the readiness gate's rollback", () => {
    test("a change of the controller-manager alone: backed up, and the gate does not wait for a new kube-apiserver pod", async () => {
        const r = await sh(install("apiserver:v1.32.8", "kcm:2"));
        expect(r.stdout).toMatch(/backed up the replaced manifests to \/etc\/kubernetes\/tmp\/kubeadm-backup-manifests-[0-9-]+\n/);
        expect((await sh("cut -d' ' -f3 /etc/kubernetes/tmp/pulumi-kubeadm-manifests-backup")).stdout.trim()).toBe("-");
        const g = await sh(gate());
        expect([g.code, g.stderr]).toEqual([0, ""]);
    });

    test("a new kube-apiserver: the gate waits for the kubelet to run its pod before /readyz counts", async () => {
        await sh(install("apiserver:v1.33.2", "kcm:2"));
        expect((await sh("cut -d' ' -f3 /etc/kubernetes/tmp/pulumi-kubeadm-manifests-backup")).stdout.trim()).toBe("old");
        const started = Date.now();
        const [g] = await Promise.all([sh(gate()), new Promise(r => setTimeout(r, 2500)).then(() => sh("echo new > /var/lib/lab/apiserver-hash"))]);
        expect([g.code, g.stderr]).toEqual([0, ""]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
        expect(await image()).toBe("apiserver:v1.33.2");
    });

    test("a new kube-apiserver whose pod never runs: its manifests are restored, and the gate says so once", async () => {
        await sh(install("apiserver:v1.34.1", "kcm:3"));
        const g = await sh(gate());
        expect(g.code).toBe(0);
        expect(g.stderr).toContain("the kubelet did not run the new kube-apiserver pod within 6s (its config hash is still new)");
        expect(g.stdout).toMatch(new RegExp(`${ROLLED_BACK_PREFIX}/etc/kubernetes/tmp/kubeadm-backup-manifests-`));
        expect(await image()).toBe("apiserver:v1.33.2");
        expect(await image("kube-controller-manager")).toBe("kcm:2");
        // The pointer is spent: a gate run again does not roll back twice.
        await sh("touch /var/lib/lab/unready");
        const again = await sh(gate());
        expect(again.code).toBe(1);
        expect(again.stderr).toContain("replaced no manifest to roll back to");
        await sh("rm -f /var/lib/lab/unready");
    }, 60_000);
});
