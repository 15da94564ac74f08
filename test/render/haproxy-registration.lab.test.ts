import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { haproxyConfig } from "../../render/haproxy";
import { haproxyDeregisterScript, haproxyInstallScript, haproxyRegisterScript, SameVersionRule } from "../../render/load-balancer-scripts";
import { haproxyBackends, Lab, labHosts } from "../lab/lab";
import { opensslCa, opensslLeaf } from "../support/openssl";

// upgrade.registration "afterAll" on a real HAProxy in one lab host: the last serving control plane
// going out switches over to the held-out ones that answer /version, and stays in when none does.
// The two "control planes" are one small HTTPS server of this test's on two loopback addresses
// (/healthz for HAProxy's check, /version as kube-apiserver's); cp-2's answers /version only once
// the test says so.
const [LB, CP1, CP2] = labHosts(["lb-1", "cp-1", "cp-2"]);
const PORT = 6443;
const SERVER = `
const https = require("https");
const fs = require("fs");
const [cert, key, ...addresses] = process.argv.slice(1);
for (const address of addresses) {
    https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
        const versioned = address !== addresses[1] || fs.existsSync(cert + ".cp-2-answers");
        if (req.url === "/healthz") { res.writeHead(200); res.end("ok"); return; }
        if (req.url === "/version" && versioned) { res.writeHead(200, { "Content-Type": "application/json" }); res.end(JSON.stringify({ gitVersion: "v1.33.3" })); return; }
        res.writeHead(404); res.end();
    }).listen(${PORT}, address);
}`;

let lab: Lab;
let server: ChildProcess | undefined;
let certFile: string;
let rule: SameVersionRule;
const sh = (script: string) => lab.exec("lb-1", script, undefined, 120_000);
const ctx = (step: string) => ({ host: "lb-1", step });

beforeAll(async () => {
    lab = await Lab.start([LB]);
    const ca = opensslCa("kubernetes");
    const leaf = opensslLeaf(ca, "/CN=kube-apiserver", `IP:${CP1.address},IP:${CP2.address}`, "serverAuth");
    certFile = `${lab.stateDir}/apiserver.crt`;
    fs.writeFileSync(certFile, leaf.certPem);
    fs.writeFileSync(`${lab.stateDir}/apiserver.key`, leaf.keyPem, { mode: 0o600 });
    server = spawn(process.execPath, ["-e", SERVER, certFile, `${lab.stateDir}/apiserver.key`, CP1.address, CP2.address], { stdio: "ignore" });
    rule = { controlPlanes: [CP1, CP2], port: PORT, caCertPem: ca.certPem };
    const config = haproxyConfig({ bindAddress: LB.address, bindPort: PORT, controlPlanes: [CP1, CP2], apiServerPort: PORT });
    expect(await sh(haproxyInstallScript({ ...ctx("haproxy"), config }))).toMatchObject({ code: 0 });
    const registered = await sh(haproxyRegisterScript({ ...ctx("register cp-1"), server: "cp-1", after: "x", timeoutSeconds: 30 }));
    expect([registered.code, registered.stderr]).toEqual([0, ""]);
    expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "MAINT" });
}, 120_000);

afterAll(async () => {
    if (server?.pid) process.kill(server.pid);
    await lab?.stop();
}, 60_000);

test("haproxy serves as the packages' haproxy user, chrooted to /var/lib/haproxy", async () => {
    const r = await sh(`for pid in $(pgrep -x haproxy); do echo "$(stat -c %U /proc/$pid) $(readlink /proc/$pid/root)"; done`);
    expect(r.stdout.trim().split("\n")).toContain("haproxy /var/lib/haproxy");
});

describe("deregistration (each): a serving control plane goes out only while another one serves", () => {
    test("cp-1, the only one serving (cp-2 left out, as a failed readiness gate leaves it), stays in, and the step says why", async () => {
        const r = await sh(haproxyDeregisterScript({ ...ctx("deregister cp-1"), server: "cp-1", after: "y" }));
        expect(r.code).toBe(1);
        expect(r.stderr).toBe("[lb-1] deregister cp-1: cp-1 is the only control plane serving on lb-1 (cp-2 (MAINT)): taking it out would leave the API with no server, so it stays in and nothing on cp-1 changes. Bring another control plane back (its readiness gate, then its register step: pulumi up again once it is fixed), then run again\n");
        expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "MAINT" });
    });

    test("with cp-2 serving too, cp-1 goes out, naming who serves; then cp-1 is back", async () => {
        expect(await sh(haproxyRegisterScript({ ...ctx("register cp-2"), server: "cp-2", after: "x", timeoutSeconds: 30 }))).toMatchObject({ code: 0 });
        const r = await sh(haproxyDeregisterScript({ ...ctx("deregister cp-1"), server: "cp-1", after: "z" }));
        expect([r.code, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toContain("serving while cp-1 is out: cp-2\n");
        expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "MAINT", "cp-2": "UP" });
        // Back to where the afterAll tests start: cp-1 serving, cp-2 out.
        expect(await sh(haproxyRegisterScript({ ...ctx("register cp-1"), server: "cp-1", after: "x", timeoutSeconds: 30 }))).toMatchObject({ code: 0 });
        expect(await sh(haproxyDeregisterScript({ ...ctx("deregister cp-2"), server: "cp-2", after: "y" }))).toMatchObject({ code: 0 });
        expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "MAINT" });
    });
});

describe("a register step's delete: the server goes out only when the cluster no longer has it", () => {
    const onDelete = (server: string) => sh(haproxyDeregisterScript({ ...ctx(`haproxy deregister ${server}`), server, onDelete: true }));
    /** HAProxy's servers once a reload has settled (its admin socket refuses connections while the new worker starts). */
    const settledBackends = async (want: Record<string, string>) => {
        let seen: Record<string, string> = {};
        for (const until = Date.now() + 30_000; Date.now() < until; await new Promise(r => setTimeout(r, 200))) {
            seen = await haproxyBackends(lab, "lb-1");
            if (JSON.stringify(seen) === JSON.stringify(want)) break;
        }
        return seen;
    };
    const install = (controlPlanes: { name: string; address: string }[]) => sh(haproxyInstallScript({ ...ctx("haproxy"), config: haproxyConfig({ bindAddress: LB.address, bindPort: PORT, controlPlanes, apiServerPort: PORT }) }));

    test("still in haproxy.cfg (a renamed or re-parented step, whose new one registered it): it stays registered", async () => {
        expect(await sh(haproxyRegisterScript({ ...ctx("register cp-2"), server: "cp-2", after: "x", timeoutSeconds: 30 }))).toMatchObject({ code: 0 });
        const r = await onDelete("cp-1");
        expect([r.code, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toBe("cp-1 is still a server in /etc/haproxy/haproxy.cfg on lb-1 (the cluster keeps it: a renamed or re-parented step was deleted), so it stays registered\n");
        expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "UP" });
    });

    test("removed from the cluster (haproxy.cfg written without it, before any delete runs): it is gone, and the delete has nothing to do", async () => {
        expect(await install([CP1])).toMatchObject({ code: 0 });
        expect(await settledBackends({ "cp-1": "UP" })).toEqual({ "cp-1": "UP" });
        const r = await onDelete("cp-2");
        expect([r.code, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toContain("backend apiserverbackend on lb-1 has no server cp-2");
        // Back to where the afterAll tests start: cp-1 serving, cp-2 listed and out.
        expect(await install([CP1, CP2])).toMatchObject({ code: 0 });
        expect(await settledBackends({ "cp-1": "UP", "cp-2": "MAINT" })).toEqual({ "cp-1": "UP", "cp-2": "MAINT" });
    });
});

describe("registration afterAll: the last serving control plane going out", () => {
    test("stays in when no held-out control plane answers /version: the load balancer never has no server", async () => {
        const r = await sh(haproxyDeregisterScript({ ...ctx("deregister cp-1"), server: "cp-1", after: "y", sameVersion: rule }));
        expect(r.code).toBe(1);
        expect(r.stdout).toContain("cp-2 answers no /version: it stays out of the load balancer");
        expect(r.stderr).toBe("[lb-1] deregister cp-1: cp-1 is the last control plane serving on lb-1, and none of those held out (cp-2) answers /version: taking it out would leave the load balancer with no server, so it stays in. Check their kube-apiserver (and that lb-1 reaches it), then pulumi up again\n");
        expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "MAINT" });
    }, 120_000);

    test("switches over to a held-out one that answers, in the same HAProxy command", async () => {
        fs.writeFileSync(`${certFile}.cp-2-answers`, "");
        const r = await sh(haproxyDeregisterScript({ ...ctx("deregister cp-1"), server: "cp-1", after: "z", sameVersion: rule }));
        expect([r.code, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toContain("switching over: cp-2 (at v1.33.3) back in as cp-1 goes out (upgrade.registration afterAll)");
        const backends = await haproxyBackends(lab, "lb-1");
        expect(backends["cp-1"]).toBe("MAINT");
        // cp-2 is enabled (its health check then brings it UP): not in maintenance.
        expect(backends["cp-2"]).not.toBe("MAINT");
    }, 120_000);
});
