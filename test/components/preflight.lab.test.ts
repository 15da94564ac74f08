import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/cluster";
import { ClusterSpec, HostSpec } from "../../spec/types";
import { Lab, labHosts } from "../lab/lab";
import { CommandRun, LabCommandRunner } from "../lab/runtime";
import { deployInLab } from "../support/lab-deploy";
import { EngineState } from "../support/mocks";
import { LAB_SKIPS } from "../../scripts/rehearsal-config";

// With nodePreparation, every host's preflight passes before any host is prepared, and every host
// is prepared (and its prepared checks pass) before anything of the cluster is written: one
// dedicated etcd host, one control plane (no load balancer) and two workers, worker-2 already
// belonging to another cluster (a kubelet.conf under another CA). The installer is the user's
// command; it logs each run. The lab shares the machine's kernel, so modprobe and sysctl are
// shims on each host that only log their calls (node preparation would otherwise load modules and
// set the machine's net sysctls). Once worker-2 is cleaned up, the cluster deploys, and each Node
// registers with its hosts[].address as InternalIP (--node-ip), not the host's other address.
const HOSTS = labHosts(["etcd-1", "cp-1", "worker-1", "worker-2"]);
const CP = HOSTS.find(h => h.name === "cp-1")!;
const NODES = ["cp-1", "worker-1", "worker-2"];
const SKIPPED = LAB_SKIPS;
const role = (name: string) => (name.startsWith("etcd") ? "etcd" : name.startsWith("cp") ? "control-plane" : "worker");
const INSTALLER = `echo "kubelet kubectl $KUBERNETES_VERSION" >> /var/lib/lab/installs.log`;
const KERNEL_SHIM = `#!/bin/sh
echo "$(basename "$0") $*" >> /var/lib/lab/kernel.log
`;
const PREPARED = ["/etc/modules-load.d/k8s.conf", "/etc/sysctl.d/k8s.conf", "/var/lib/lab/installs.log", "/var/lib/lab/kernel.log"];

let lab: Lab;
let runner: LabCommandRunner;
const state: EngineState = new Map();
let spec: ClusterSpec;
const up = () => deployInLab(runner, state, "p-deployed-versions", () => new Cluster("p", spec));
const exists = (host: string, p: string) => fs.existsSync(lab.path(host, p));
const step = (host: string, what: string) => (host.startsWith("etcd") ? `p-etcd-${host}-${what}` : host.startsWith("cp") ? `p-control-plane-${host}-${what}` : `p-workers-${host}-${what}`);
const end = (r: CommandRun) => r.startedAt + r.durationMs;

beforeAll(async () => {
    lab = await Lab.start(HOSTS, { tlsBootstrap: true });
    runner = new LabCommandRunner(lab);
    for (const h of HOSTS) {
        const r = await lab.exec(h.name, `install -d -m 0755 /usr/local/bin && for t in modprobe sysctl; do printf '%s' '${KERNEL_SHIM}' > /usr/local/bin/$t && chmod 0755 /usr/local/bin/$t; done`);
        expect(r).toMatchObject({ code: 0, stderr: "" });
    }
    // worker-2 is a node of another cluster: kubeadm join's FileAvailable--etc-kubernetes-kubelet.conf fails there.
    const r = await lab.exec("worker-2", "install -d /etc/kubernetes && echo 'apiVersion: v1' > /etc/kubernetes/kubelet.conf");
    expect(r.code).toBe(0);
    const hosts: HostSpec[] = HOSTS.map(h => ({
        name: h.name, address: h.address, roles: [role(h.name)],
        ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(h.name) },
    }));
    spec = {
        kubernetesVersion: "v1.33.2", controlPlaneEndpoint: `${CP.address}:6443`, networking: { podSubnet: "10.244.0.0/16" }, hosts,
        etcd: { topology: "dedicated" }, certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: SKIPPED,
        apiServer: { readinessTimeoutSeconds: 60 }, loadBalancer: { type: "none" }, join: { tlsBootstrapTimeoutSeconds: 30 },
        nodePreparation: { installer: "command", command: INSTALLER },
    };
}, 120_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

describe("nodePreparation in the lab: no host changes before every host's checks passed", () => {
    let failed: { runs: CommandRun[]; failures: Error[] };

    test("one host's preflight fails: every other preflight ran, and no host was prepared (no installer run, no kernel file, no modprobe or sysctl)", async () => {
        failed = await up();
        expect(failed.failures.map(f => f.message)).toEqual([expect.stringContaining("[worker-2] worker preflight: 1 check(s) failed:\n  - FileAvailable--etc-kubernetes-kubelet.conf: ")]);
        const names = failed.runs.map(r => r.name);
        for (const h of HOSTS) expect(names).toContain(step(h.name, "preflight"));
        for (const h of HOSTS.filter(x => x.name !== "worker-2")) {
            const out = failed.runs.find(r => r.name === step(h.name, "preflight"))!.stdout;
            expect([h.name, out]).toEqual([h.name, expect.stringContaining("all checks passed")]);
            // What depends on the installer is checked in the preparation step, and the preflight says so.
            expect([h.name, out]).toEqual([h.name, expect.stringMatching(/\[preflight\] checked after nodePreparation, once every host passed its preflight: (CRI, )?FileExisting-kubelet/)]);
            expect(out).not.toContain("[prepare]");
        }
        // Nothing ran after the preflights: no preparation, no install, no join.
        expect(names.filter(n => !n.endsWith("-preflight"))).toEqual([]);
        for (const h of HOSTS) for (const p of PREPARED) expect([h.name, p, exists(h.name, p)]).toEqual([h.name, p, false]);
        for (const h of HOSTS) expect([h.name, exists(h.name, "/etc/kubernetes/pki")]).toEqual([h.name, false]);
    }, 600_000);

    describe("worker-2 cleaned up", () => {
        let deployed: { runs: CommandRun[]; failures: Error[] };
        const run = (name: string) => {
            const r = deployed.runs.find(x => x.name === name);
            if (!r) throw new Error(`no run of ${name}: ${deployed.runs.map(x => x.name).join(", ")}`);
            return r;
        };

        beforeAll(async () => {
            expect((await lab.exec("worker-2", "rm /etc/kubernetes/kubelet.conf")).code).toBe(0);
            deployed = await up();
        }, 900_000);

        test("every host is prepared once every preflight passed, then checked; nothing else ran before every preparation", () => {
            expect(deployed.failures).toEqual([]);
            const preparations = HOSTS.map(h => run(step(h.name, "prepare")));
            const lastPreflight = end(run("p-workers-worker-2-preflight"));
            for (const p of preparations) {
                expect(p.startedAt).toBeGreaterThanOrEqual(lastPreflight);
                expect(p.startedAt).toBeGreaterThanOrEqual(end(run("p-upgrade-preflight")));
                expect(p.stdout).toContain("[prepare] installing containerd and the kubelet 1.33.2");
                expect(p.stdout).toMatch(/prepared \(command\); the checks of what it provides passed\n$/);
            }
            const lastPreparation = Math.max(...preparations.map(end));
            // (A version change's etcd snapshot comes before the preparations: it backs up what they could disturb.)
            const changes = deployed.runs.filter(x => /-(install|join|health|ready)$/.test(x.name));
            expect(changes.length).toBeGreaterThanOrEqual(5);
            for (const r of changes) {
                expect([r.name, r.startedAt >= lastPreparation]).toEqual([r.name, true]);
            }
            for (const h of HOSTS) {
                expect([h.name, fs.readFileSync(lab.path(h.name, "/var/lib/lab/installs.log"), "utf8")]).toEqual([h.name, "kubelet kubectl 1.33.2\n"]);
                expect(fs.readFileSync(lab.path(h.name, "/etc/sysctl.d/k8s.conf"), "utf8")).toContain("net.ipv4.ip_forward = 1");
                expect(fs.readFileSync(lab.path(h.name, "/etc/modules-load.d/k8s.conf"), "utf8")).toBe("overlay\nbr_netfilter\n");
                expect(fs.readFileSync(lab.path(h.name, "/var/lib/lab/kernel.log"), "utf8")).toBe("modprobe overlay\nmodprobe br_netfilter\nsysctl --system\n");
            }
        });

        test("each Node's InternalIP is its hosts[].address (--node-ip), not the host's other address", async () => {
            for (const name of NODES) {
                const h = HOSTS.find(x => x.name === name)!;
                const get = () => lab.exec("cp-1", `kubectl --kubeconfig=/etc/kubernetes/admin.conf get node '${name}' -o jsonpath='{.status.addresses}'`);
                // The kubelet reports its Node every 2 s once it has its kubeconfig.
                let addresses = await get();
                for (const until = Date.now() + 30_000; addresses.code !== 0 && Date.now() < until; addresses = await get()) await new Promise(r => setTimeout(r, 500));
                expect([name, addresses.stderr]).toEqual([name, ""]);
                expect([name, JSON.parse(addresses.stdout)]).toEqual([name, [{ type: "InternalIP", address: h.address }]]);
                expect(h.address).not.toBe(lab.localhostOf(name));
                expect(fs.readFileSync(lab.path(name, "/var/lib/kubelet/kubeadm-flags.env"), "utf8")).toContain(` --node-ip=${h.address}"`);
            }
        }, 120_000);
    });
});
