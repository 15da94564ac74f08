import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { CLUSTER_ADMINS_BOUND } from "../../render/kube-vip";
import { externalLoadBalancerScript, kubeVipAdminConfScript, kubeVipScript } from "../../render/load-balancer-scripts";
import { Lab, labHosts } from "../lab/lab";
import { opensslCa, opensslLeaf } from "../support/openssl";

// kube-vip's deregistration on a lab host (cp-1): its manifest is removed, and the VIP may move,
// only while another control plane's kube-apiserver is ready. cp-2's "kube-apiserver" is a small
// HTTPS server of this test's on cp-2's address, with a certificate of the cluster CA, whose
// /readyz answers 200 only once the test says so.
const [CP1, CP2] = labHosts(["cp-1", "cp-2"]);
const PORT = 6443;
const SERVER = `
const https = require("https");
const fs = require("fs");
const [cert, key, address] = process.argv.slice(1);
https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
    const ready = fs.existsSync(cert + ".ready");
    res.writeHead(req.url === "/readyz" && ready ? 200 : 500); res.end(ready ? "ok" : "not ready");
}).listen(${PORT}, address);`;
const MANIFEST = "/etc/kubernetes/manifests/kube-vip.yaml";

let lab: Lab;
let server: ChildProcess | undefined;
let certFile: string;
let caCertPem: string;
const deregister = () => kubeVipScript({
    host: "cp-1", step: "kube-vip deregister", manifestPath: MANIFEST, after: "x",
    peers: { controlPlanes: [CP2], bindPort: PORT, caFile: "/etc/kubernetes/pki/ca.crt" },
});

beforeAll(async () => {
    lab = await Lab.start([CP1]);
    const ca = opensslCa("kubernetes");
    caCertPem = ca.certPem;
    const leaf = opensslLeaf(ca, "/CN=kube-apiserver", `IP:${CP2.address}`, "serverAuth");
    certFile = `${lab.stateDir}/cp-2-apiserver.crt`;
    fs.writeFileSync(certFile, leaf.certPem);
    fs.writeFileSync(`${lab.stateDir}/cp-2-apiserver.key`, leaf.keyPem, { mode: 0o600 });
    server = spawn(process.execPath, ["-e", SERVER, certFile, `${lab.stateDir}/cp-2-apiserver.key`, CP2.address], { stdio: "ignore" });
    const r = await lab.exec("cp-1", `set -e
install -d -m 0755 /etc/kubernetes/pki /etc/kubernetes/manifests
base64 -d > /etc/kubernetes/pki/ca.crt <<< ${Buffer.from(ca.certPem).toString("base64")}
echo "kind: Pod" > ${MANIFEST}
for _ in $(seq 1 50); do curl -sk -o /dev/null https://${CP2.address}:${PORT}/readyz && break; sleep 0.2; done`);
    expect([r.code, r.stderr]).toEqual([0, ""]);
}, 120_000);

afterAll(async () => {
    if (server?.pid) process.kill(server.pid);
    await lab?.stop();
}, 60_000);

describe("kube-vip's deregistration: the VIP moves only to a ready control plane", () => {
    test("no other control plane ready: kube-vip stays, and the step says why", async () => {
        const r = await lab.exec("cp-1", deregister());
        expect(r.code).toBe(1);
        expect(r.stderr).toBe("[cp-1] kube-vip deregister: no other control plane is ready (/readyz: cp-2 (500)): removing kube-vip from cp-1 would leave the VIP on no ready kube-apiserver, so it stays and nothing on cp-1 changes. Bring another control plane back (pulumi up again once it is fixed), then run again\n");
        expect(fs.existsSync(lab.path("cp-1", MANIFEST))).toBe(true);
    });

    test("cp-2 ready (its certificate verified with the cluster CA): kube-vip leaves cp-1, naming cp-2", async () => {
        fs.writeFileSync(`${certFile}.ready`, "");
        const r = await lab.exec("cp-1", deregister());
        expect([r.code, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toContain("ready while cp-1 is out: cp-2\n");
        expect(fs.existsSync(lab.path("cp-1", MANIFEST))).toBe(false);
    });
});

describe("an external load balancer's deregistration: its command runs only while another control plane is ready", () => {
    // Where Pulumi runs (this machine), as loadBalancer.external's commands do without runOn.
    const deregister = (log: string) => spawnSync("bash", ["-c", externalLoadBalancerScript(`echo "out {{name}}" >> ${log}`, { name: "cp-1", address: CP1.address, port: PORT },
        { host: "local", step: "deregister cp-1" }, "x", { controlPlanes: [CP2], bindPort: PORT, caCertPem })], { encoding: "utf8" });

    test("none ready: the command does not run, and the step names what each answered; once cp-2 is ready it runs", () => {
        const log = `${lab.stateDir}/external-lb.log`;
        fs.rmSync(`${certFile}.ready`, { force: true });
        const refused = deregister(log);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toBe("[local] deregister cp-1: no other control plane is ready (/readyz: cp-2 (500)): taking cp-1 out of the external load balancer could leave it no ready kube-apiserver, so the deregister command does not run and cp-1 stays in. Bring another control plane back (pulumi up again once it is fixed), then run again\n");
        expect(fs.existsSync(log)).toBe(false);
        fs.writeFileSync(`${certFile}.ready`, "");
        const ran = deregister(log);
        expect([ran.status, ran.stderr]).toEqual([0, ""]);
        expect(ran.stdout).toContain("ready while cp-1 is out: cp-2\n");
        expect(fs.readFileSync(log, "utf8")).toBe("out cp-1\n");
    });
});

describe("an external load balancer's register step deleted: its deregister command runs only once the node no longer serves", () => {
    const onDelete = (log: string) => spawnSync("bash", ["-c", externalLoadBalancerScript(`echo "out {{name}}" >> ${log}`, { name: "cp-2", address: CP2.address, port: PORT },
        { host: "local", step: "deregister cp-2" }, undefined, undefined, { caCertPem })], { encoding: "utf8" });

    test("cp-2 still serving (a renamed step's delete): it stays registered; once it no longer answers, the command runs", () => {
        const log = `${lab.stateDir}/external-delete.log`;
        fs.writeFileSync(`${certFile}.ready`, "");
        const kept = onDelete(log);
        expect([kept.status, kept.stderr]).toEqual([0, ""]);
        expect(kept.stdout).toBe(`cp-2 still serves https://${CP2.address}:${PORT}/readyz: a renamed or re-parented step was deleted, or the node left the program while it still runs; it stays registered (deregister it yourself once it is shut down)\n`);
        expect(fs.existsSync(log)).toBe(false);
        fs.rmSync(`${certFile}.ready`);
        const ran = onDelete(log);
        expect([ran.status, ran.stderr]).toEqual([0, ""]);
        expect(fs.readFileSync(log, "utf8")).toBe("out cp-2\n");
    });
});

describe("a kube-vip register step's delete: kube-vip stays when a renamed step's new one placed it since", () => {
    const peers = { controlPlanes: [CP2], bindPort: PORT, caFile: "/etc/kubernetes/pki/ca.crt" };
    const register = (owner: string) => lab.exec("cp-1", kubeVipScript({ host: "cp-1", step: "kube-vip register", manifestPath: MANIFEST, manifest: "kind: Pod\n", after: "x", owner }));
    const remove = (owner: string) => lab.exec("cp-1", kubeVipScript({ host: "cp-1", step: "kube-vip deregister", manifestPath: MANIFEST, after: "delete", peers, owner }));

    test("the old step's delete leaves it; the step that placed it last removes it (with cp-2 ready)", async () => {
        fs.writeFileSync(`${certFile}.ready`, "");
        expect(await register("project/stack/c-control-plane-cp-1-register-kube-vip")).toMatchObject({ code: 0 });
        expect(await register("project/stack/renamed-control-plane-cp-1-register-kube-vip")).toMatchObject({ code: 0 });
        const kept = await remove("project/stack/c-control-plane-cp-1-register-kube-vip");
        expect([kept.code, kept.stderr]).toEqual([0, ""]);
        expect(kept.stdout).toContain("kube-vip on cp-1 was placed by project/stack/renamed-control-plane-cp-1-register-kube-vip since (a renamed step's new one), so it stays\n");
        expect(fs.existsSync(lab.path("cp-1", MANIFEST))).toBe(true);
        const removed = await remove("project/stack/renamed-control-plane-cp-1-register-kube-vip");
        expect([removed.code, removed.stderr]).toEqual([0, ""]);
        expect(removed.stdout).toContain("ready while cp-1 is out: cp-2\n");
        expect(fs.existsSync(lab.path("cp-1", MANIFEST))).toBe(false);
    });
});

describe("kube-vip on the first control plane moves from super-admin.conf to admin.conf, and back when the VIP does not answer", () => {
    // cp-2's server stands for the VIP here: kube-vip cannot run in the lab, so what is checked is the step around it.
    const pod = (kubeconfig: string) => `kind: Pod\nspec:\n  volumes:\n    - hostPath:\n        path: /etc/kubernetes/${kubeconfig}\n      name: kubeconfig\n`;
    const move = (timeoutSeconds: number) => lab.exec("cp-1", kubeVipAdminConfScript({
        host: "cp-1", step: "kube-vip admin.conf", manifestPath: MANIFEST, adminManifest: pod("admin.conf"), superAdminManifest: pod("super-admin.conf"),
        boundMarker: CLUSTER_ADMINS_BOUND, readyz: `https://${CP2.address}:${PORT}/readyz`, caFile: "/etc/kubernetes/pki/ca.crt", timeoutSeconds,
    }));

    test("the VIP not answering: super-admin.conf is back, the record of the binding removed, and the step says so", async () => {
        fs.writeFileSync(lab.path("cp-1", MANIFEST), pod("super-admin.conf"));
        fs.rmSync(`${certFile}.ready`, { force: true });
        const r = await move(4);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(`[cp-1] kube-vip admin.conf: kube-vip on cp-1 ran with admin.conf, and the VIP (https://${CP2.address}:${PORT}/readyz) did not answer in 4s; it is back on super-admin.conf. See crictl logs of kube-vip, and whether the kubeadm:cluster-admins ClusterRoleBinding exists\n`);
        expect(fs.readFileSync(lab.path("cp-1", MANIFEST), "utf8")).toBe(pod("super-admin.conf"));
        expect((await lab.exec("cp-1", `test -e ${CLUSTER_ADMINS_BOUND}`)).code).toBe(1);
    });

    test("the VIP answering (verified with the cluster CA): admin.conf stays, and the binding is recorded for the register step", async () => {
        fs.writeFileSync(`${certFile}.ready`, "");
        const r = await move(30);
        expect([r.code, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toContain(`kube-vip on cp-1 uses admin.conf now (super-admin.conf is no longer mounted); the VIP answers https://${CP2.address}:${PORT}/readyz`);
        expect(fs.readFileSync(lab.path("cp-1", MANIFEST), "utf8")).toBe(pod("admin.conf"));
        expect((await lab.exec("cp-1", `test -f ${CLUSTER_ADMINS_BOUND}`)).code).toBe(0);
        // Run again: nothing changes.
        const again = await move(30);
        expect(again.stdout).toContain("no changes");
    });
});
