import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "../../components/etcd";
import { ClusterPki } from "../../components/pki";
import { etcdHealthScript, etcdPreflightScript } from "../../render/etcd-scripts";
import { HostSpec, NodePreparationSpec } from "../../spec/types";
import { etcdctl as realEtcdctl } from "../../scripts/real-tools";
import { Lab } from "../lab/lab";
import { LabCommandRunner } from "../lab/runtime";
import { EngineState, MockRuntime, settle } from "../support/mocks";
import { opensslCa, opensslLeaf, tempDir } from "../support/openssl";

// Three dedicated etcd hosts in the lab: real sshd, bash, openssl, etcd and etcdctl.
const octet = 100 + Math.floor(Math.random() * 100);
const HOSTS = [1, 2, 3].map(i => ({ name: `etcd-${i}`, address: `127.0.${octet}.${10 + i}` }));
const PLACED = [
    "/etc/kubernetes/pki/etcd/ca.crt", "/etc/kubernetes/pki/etcd/server.crt", "/etc/kubernetes/pki/etcd/server.key",
    "/etc/kubernetes/pki/etcd/peer.crt", "/etc/kubernetes/pki/etcd/peer.key", "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
    "/etc/kubernetes/pki/etcd/healthcheck-client.key", "/etc/systemd/system/kubelet.service.d/kubelet.conf",
    "/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf", "/etc/kubernetes/manifests/etcd.yaml",
];

let lab: Lab;
/** The engine's state between runs: unchanged tls resources keep their keys and certificates. */
const engineState: EngineState = new Map();
let certs: { dir: string; remove: () => void };

/** Resolves with an Output's value once known. */
function outcome<T>(o: pulumi.Output<T>): Promise<T> {
    return (o as any).promise();
}

/** The run's end: the health gate's answer, or the first step that failed. */
function finished(run: Run): Promise<string> {
    return Promise.race([outcome(run.etcd.health), run.runtime.failure]);
}

interface Run { runner: LabCommandRunner; runtime: MockRuntime; etcd: EtcdCluster; pki: ClusterPki }

/** One `pulumi up` of the program: a fresh mock engine, remote commands executed for real over SSH. */
async function up(extraArgs?: { name: string; value: string }[], healthTimeoutSeconds = 90, release: { kubernetesVersion?: string; nodePreparation?: NodePreparationSpec } = {}): Promise<Run> {
    const runner = new LabCommandRunner(lab);
    const runtime = await new MockRuntime(runner.handle, engineState).start();
    const members: HostSpec[] = HOSTS.map(h => ({
        name: h.name, address: h.address, roles: ["etcd"], ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(h.name) },
    }));
    const pki = new ClusterPki("pki", {
        controlPlaneEndpoint: "k8s-api.example.internal:6443",
        controlPlanes: [{ name: "cp-1", address: `127.0.${octet}.21` }],
        etcdMembers: HOSTS,
    });
    const etcd = new EtcdCluster("etcd", {
        kubernetesVersion: release.kubernetesVersion ?? "v1.33.2", members, pki, extraArgs, healthTimeoutSeconds, nodePreparation: release.nodePreparation,
    });
    return { runner, runtime, etcd, pki };
}

function hashes(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const h of HOSTS) for (const p of PLACED) {
        const file = lab.path(h.name, p);
        out[`${h.name}:${p}`] = fs.existsSync(file) ? createHash("sha256").update(fs.readFileSync(file)).digest("hex") : "(missing)";
    }
    return out;
}

function etcdctl(args: string[], creds: "client" | "none" | "foreign" = "client"): { ok: boolean; out: string } {
    const tls = creds === "none" ? [`--cacert=${certs.dir}/ca.crt`]
        : creds === "foreign" ? [`--cacert=${certs.dir}/ca.crt`, `--cert=${certs.dir}/foreign.crt`, `--key=${certs.dir}/foreign.key`]
            : [`--cacert=${certs.dir}/ca.crt`, `--cert=${certs.dir}/client.crt`, `--key=${certs.dir}/client.key`];
    try {
        const out = execFileSync(realEtcdctl(), [...tls, "--dial-timeout=3s", "--command-timeout=5s", ...args], {
            encoding: "utf8", env: { ...process.env }, stdio: ["ignore", "pipe", "pipe"],
        });
        return { ok: true, out };
    } catch (e: any) {
        return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    }
}

/** An HTTPS request to a member's peer port presenting the given client certificate. */
function peerRequest(address: string, cert: string, key: string, ca: string): Promise<{ ok: boolean; detail: string }> {
    return new Promise(resolve => {
        const req = https.request({ host: address, port: 2380, path: "/members", cert, key, ca, servername: "etcd-1", checkServerIdentity: () => undefined, timeout: 5000 }, res => {
            let body = "";
            res.on("data", d => { body += d; });
            res.on("end", () => resolve({ ok: res.statusCode === 200, detail: `${res.statusCode} ${body.slice(0, 200)}` }));
        });
        req.on("error", e => resolve({ ok: false, detail: e.message }));
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.end();
    });
}

beforeAll(async () => {
    lab = await Lab.start(HOSTS);
    certs = tempDir("etcd-lab-client-");
}, 120_000);

afterAll(async () => {
    await lab?.stop();
    certs?.remove();
}, 60_000);

describe("EtcdCluster on three lab hosts", () => {
    let first: Run;
    let firstHashes: Record<string, string>;

    test("a healthy 3-member cluster comes up behind the health gate", async () => {
        first = await up();
        const health = await finished(first);
        expect(health).toBe("etcd healthy: members etcd-1,etcd-2,etcd-3");
        expect(await outcome(first.etcd.clientEndpoints)).toEqual(HOSTS.map(h => `https://${h.address}:2379`));

        fs.writeFileSync(path.join(certs.dir, "ca.crt"), await outcome(first.etcd.etcdCaCertPem));
        fs.writeFileSync(path.join(certs.dir, "client.crt"), await outcome(first.etcd.apiserverEtcdClientCertPem));
        fs.writeFileSync(path.join(certs.dir, "client.key"), await outcome(first.etcd.apiserverEtcdClientKeyPem), { mode: 0o600 });
        firstHashes = hashes();
        await settle();
    }, 240_000);

    test("exactly the three expected members, each healthy", () => {
        const list = etcdctl([`--endpoints=https://${HOSTS[0].address}:2379`, "member", "list", "-w", "json"]);
        expect(list.ok).toBe(true);
        const members = JSON.parse(list.out).members.map((m: any) => ({ name: m.name, peer: m.peerURLs[0], client: m.clientURLs[0] }));
        expect(members.sort((a: any, b: any) => a.name.localeCompare(b.name))).toEqual(HOSTS.map(h => ({
            name: h.name, peer: `https://${h.address}:2380`, client: `https://${h.address}:2379`,
        })));
        for (const h of HOSTS) expect(etcdctl([`--endpoints=https://${h.address}:2379`, "endpoint", "health"]).ok).toBe(true);
    });

    test("a key written through one member is read back through another with the apiserver-etcd-client certificate", () => {
        const value = `written-${Date.now()}`;
        expect(etcdctl([`--endpoints=https://${HOSTS[0].address}:2379`, "put", "/lab/probe", value]).ok).toBe(true);
        const got = etcdctl([`--endpoints=https://${HOSTS[2].address}:2379`, "get", "/lab/probe", "--print-value-only"]);
        expect(got).toEqual({ ok: true, out: `${value}\n` });
    });

    test("clients without a certificate or with one from another CA are refused", () => {
        const other = opensslCa("etcd-ca");
        const foreign = opensslLeaf(other, "/CN=kube-apiserver-etcd-client", undefined, "clientAuth");
        fs.writeFileSync(path.join(certs.dir, "foreign.crt"), foreign.certPem);
        fs.writeFileSync(path.join(certs.dir, "foreign.key"), foreign.keyPem, { mode: 0o600 });
        const anonymous = etcdctl([`--endpoints=https://${HOSTS[1].address}:2379`, "get", "/lab/probe"], "none");
        const stranger = etcdctl([`--endpoints=https://${HOSTS[1].address}:2379`, "get", "/lab/probe"], "foreign");
        expect(anonymous.ok).toBe(false);
        expect(stranger.ok).toBe(false);
        expect(`${anonymous.out}\n${stranger.out}`).toMatch(/bad certificate|certificate required|unknown certificate authority|context deadline exceeded/);
    });

    test("a peer presenting a foreign certificate cannot talk to the members; the real peer certificate can", async () => {
        const other = opensslCa("etcd-ca");
        const foreignPeer = opensslLeaf(other, "/CN=etcd-4", `DNS:etcd-4,IP:127.0.${octet}.14`, "serverAuth,clientAuth");
        const ca = fs.readFileSync(path.join(certs.dir, "ca.crt"), "utf8");
        const refused = await peerRequest(HOSTS[0].address, foreignPeer.certPem, foreignPeer.keyPem, ca);
        expect(refused.ok).toBe(false);
        const peerCert = fs.readFileSync(lab.path("etcd-2", "/etc/kubernetes/pki/etcd/peer.crt"), "utf8");
        const peerKey = fs.readFileSync(lab.path("etcd-2", "/etc/kubernetes/pki/etcd/peer.key"), "utf8");
        const accepted = await peerRequest(HOSTS[0].address, peerCert, peerKey, ca);
        expect(accepted).toMatchObject({ ok: true });
    });

    test("files are in place with kubeadm's modes: keys 0600, certificates 0644, the manifest 0600, all root-owned", () => {
        for (const h of HOSTS) for (const p of PLACED) {
            const st = fs.statSync(lab.path(h.name, p));
            const expected = p.endsWith(".key") || p.endsWith("etcd.yaml") ? 0o600 : 0o644;
            expect({ file: `${h.name}:${p}`, mode: (st.mode & 0o777).toString(8), uid: st.uid, gid: st.gid })
                .toEqual({ file: `${h.name}:${p}`, mode: expected.toString(8), uid: 0, gid: 0 });
        }
    });

    test("the kubelet was set up as kubeadm's guide does: daemon-reload, restart, and it runs the etcd static pod", () => {
        for (const h of HOSTS) {
            const calls = lab.systemctlCalls(h.name).join("\n");
            expect(calls).toMatch(/daemon-reload[\s\S]*restart kubelet/);
            expect(lab.pods(h.name).etcd).toMatchObject({ state: "running", restarts: 0 });
        }
    });

    test("no private key appears in any command text or recorded output", () => {
        for (const run of first.runner.runs) {
            expect(run.command).not.toMatch(/PRIVATE KEY/);
            expect(`${run.stdout}${run.stderr}`).not.toMatch(/PRIVATE KEY/);
        }
        expect(first.runner.runs.map(r => r.name).sort()).toEqual([
            "etcd-etcd-1-install", "etcd-etcd-1-preflight", "etcd-etcd-2-install", "etcd-etcd-2-preflight",
            "etcd-etcd-3-install", "etcd-etcd-3-preflight", "etcd-health",
        ]);
    });

    test("running the same program again changes no file on any host and the cluster stays healthy", async () => {
        const restartsBefore = HOSTS.map(h => lab.systemctlCalls(h.name).filter(c => c.includes("restart kubelet")).length);
        const second = await up();
        expect(await finished(second)).toBe("etcd healthy: members etcd-1,etcd-2,etcd-3");
        expect(hashes()).toEqual(firstHashes);
        for (const run of second.runner.runs.filter(r => r.name.endsWith("-install"))) expect(run.stdout.trim()).toBe("no changes");
        expect(HOSTS.map(h => lab.systemctlCalls(h.name).filter(c => c.includes("restart kubelet")).length)).toEqual(restartsBefore);
        for (const h of HOSTS) expect(lab.pods(h.name).etcd).toMatchObject({ state: "running", restarts: 0 });
        await settle();
    }, 240_000);

    test("preflight names every failed check with its fix; skipping those checks by name lets it pass", async () => {
        // etcd-1's ports and data dir belong to its running member, not to a member named etcd-9.
        const stranger = { name: "etcd-9", address: HOSTS[0].address };
        const caSha256 = createHash("sha256").update(fs.readFileSync(lab.path("etcd-1", "/etc/kubernetes/pki/etcd/ca.crt"))).digest("hex");
        const script = (ignore: string[]) => etcdPreflightScript({
            host: "etcd-1", step: "etcd preflight", member: stranger, topology: "dedicated", dataDir: "/var/lib/etcd", certificatesDir: "/etc/kubernetes/pki",
            criSocket: "unix:///run/containerd/containerd.sock", ignore, caSha256, kubeletMinor: "1.34",
        });
        const failed = await lab.exec("etcd-1", script([]));
        expect(failed.code).toBe(1);
        expect(failed.stderr).toContain("[etcd-1] etcd preflight: 3 check(s) failed:");
        expect(failed.stderr).toMatch(new RegExp(`Port-2379: port 2379 is in use on ${HOSTS[0].address.replace(/\./g, "\\.")}`));
        expect(failed.stderr).toContain("Port-2380: port 2380 is in use");
        expect(failed.stderr).toContain("DirAvailable--var-lib-etcd: /var/lib/etcd is not empty and holds no member of this cluster");
        expect(failed.stderr).toContain("skip a check by adding its name to ignorePreflightErrors");
        const skipped = await lab.exec("etcd-1", script(["Port-2379", "port-2380", "DirAvailable--var-lib-etcd"]));
        expect(skipped).toMatchObject({ code: 0 });
        expect(skipped.stdout).toContain("[preflight] ignored Port-2379");
    });

    test("the health gate, on timeout, names each unhealthy member and what it answered", async () => {
        const members = [...HOSTS, { name: "etcd-4", address: `127.0.${octet}.14` }];
        const result = await lab.exec("etcd-1", etcdHealthScript({ host: "etcd-1", step: "etcd health", members, certificatesDir: "/etc/kubernetes/pki", timeoutSeconds: 3 }));
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("[etcd-1] etcd health: etcd not healthy after 3s:");
        expect(result.stderr).toMatch(/- etcd-4: .*(unhealthy|connection refused|deadline)/);
        expect(result.stderr).not.toMatch(/- etcd-[123]:/);
    });

    test("with one host's sshd stopped, the run fails at that host's first step, naming it; once sshd is back it completes", async () => {
        const before = hashes();
        await lab.stopSshd("etcd-2");
        const failed = await up();
        const error = await finished(failed).then(() => undefined, e => e as Error);
        expect(error).toBeDefined();
        expect(error!.message).toMatch(/etcd-etcd-2-preflight/);
        expect(error!.message).toContain(`${HOSTS[1].address}:${lab.sshPort}`);
        await new Promise(r => setTimeout(r, 2000));
        expect(failed.runtime.failures).toHaveLength(1);
        expect(failed.runner.runs.some(r => r.name.endsWith("-install"))).toBe(false);
        expect(hashes()).toEqual(before);
        await settle();

        await lab.startSshd("etcd-2");
        const again = await up();
        expect(await finished(again)).toBe("etcd healthy: members etcd-1,etcd-2,etcd-3");
        await settle();
    }, 300_000);

    test("a flag change rolls through the members one at a time, each healthy before the next; data survives", async () => {
        const before = Object.fromEntries(HOSTS.map(h => [h.name, lab.pods(h.name).etcd.pid]));
        const run = await up([{ name: "quota-backend-bytes", value: "4294967296" }]);
        expect(await finished(run)).toBe("etcd healthy: members etcd-1,etcd-2,etcd-3");
        const installs = run.runner.runs.filter(r => r.name.endsWith("-install")).sort((a, b) => a.startedAt - b.startedAt);
        expect(installs.map(r => r.name)).toEqual(["etcd-etcd-1-install", "etcd-etcd-2-install", "etcd-etcd-3-install"]);
        for (let i = 1; i < installs.length; i++) expect(installs[i].startedAt).toBeGreaterThanOrEqual(installs[i - 1].startedAt + installs[i - 1].durationMs);
        for (const r of installs) expect(r.stdout).toContain("restarted member is healthy");
        // Each member's new etcd started within its own step: the next member restarted only after it (never two down).
        for (const r of installs) {
            const started = Date.parse(lab.pods(r.name.replace(/^etcd-|-install$/g, "")).etcd.startedAt!);
            expect([r.name, started >= r.startedAt && started <= r.startedAt + r.durationMs]).toEqual([r.name, true]);
        }
        for (const h of HOSTS) {
            const pod = lab.pods(h.name).etcd;
            expect(pod.state).toBe("running");
            expect(pod.pid).not.toBe(before[h.name]);
            expect(pod.command).toContain("--quota-backend-bytes=4294967296");
        }
        const got = etcdctl([`--endpoints=https://${HOSTS[1].address}:2379`, "get", "/lab/probe", "--print-value-only"]);
        expect(got.ok).toBe(true);
        expect(got.out).toMatch(/^written-\d+\n$/);
        await settle();
    }, 300_000);

    test("a member whose restart would cost quorum is left alone: with etcd-3 not answering, the change stops before etcd-1 is touched; once etcd-3 is back it rolls on", async () => {
        // etcd-3's member paused (SIGSTOP): its port still accepts, it answers nothing, and its kubelet sees it running.
        const paused = lab.pods("etcd-3").etcd.pid;
        expect(await lab.exec("etcd-3", `kill -STOP ${paused}`)).toMatchObject({ code: 0 });
        const down = Date.now() + 30_000;
        while (etcdctl([`--endpoints=https://${HOSTS[2].address}:2379`, "endpoint", "health"]).ok) {
            if (Date.now() > down) throw new Error("etcd-3 still answers after its manifest was removed");
            await new Promise(r => setTimeout(r, 500));
        }
        const before = hashes();
        const pids = [lab.pods("etcd-1").etcd.pid, lab.pods("etcd-2").etcd.pid];
        const flag = [{ name: "quota-backend-bytes", value: "6442450944" }];
        const refused = await up(flag, 10);
        const error = await finished(refused).then(() => undefined, e => e as Error);
        expect(error?.message).toMatch(/etcd-etcd-1-install/);
        expect(error?.message).toContain("[etcd-1] etcd install: etcd-1's etcd would restart, but after 10s only 1 of the other 2 voting members answer healthy (not healthy: etcd-3); etcd needs 2 of them to keep quorum while etcd-1 is down. Nothing was changed here");
        await new Promise(r => setTimeout(r, 2000));
        expect(refused.runner.runs.map(r => r.name).filter(n => n.endsWith("-install"))).toEqual(["etcd-etcd-1-install"]);
        expect(hashes()).toEqual(before);
        expect([lab.pods("etcd-1").etcd.pid, lab.pods("etcd-2").etcd.pid]).toEqual(pids);
        await settle();

        expect(await lab.exec("etcd-3", `kill -CONT ${paused}`)).toMatchObject({ code: 0 });
        const back = Date.now() + 60_000;
        while (!etcdctl([`--endpoints=https://${HOSTS[2].address}:2379`, "endpoint", "health"]).ok) {
            if (Date.now() > back) throw new Error("etcd-3 is not healthy again after its manifest was restored");
            await new Promise(r => setTimeout(r, 500));
        }
        const rolled = await up(flag);
        expect(await finished(rolled)).toBe("etcd healthy: members etcd-1,etcd-2,etcd-3");
        for (const r of rolled.runner.runs.filter(x => x.name.endsWith("-install"))) {
            const member = r.name.replace(/^etcd-|-install$/g, "");
            expect(r.stdout).toContain(`etcd: 2 of 2 other voting members healthy (2 needed): ${member} may restart`);
        }
        for (const h of HOSTS) expect(lab.pods(h.name).etcd.command).toContain("--quota-backend-bytes=6442450944");
        await settle();
    }, 300_000);
});

describe("nodePreparation on etcd hosts: a member's kubelet package changes in its etcd step, one member at a time behind the quorum gate", () => {
    // The user's installer: sets the version the lab's kubelet reports (what apt-get install kubelet=… does) and logs when.
    const INSTALLER = `sed -i "s/^LAB_KUBELET_VERSION=.*/LAB_KUBELET_VERSION=$KUBERNETES_VERSION/" /var/lib/lab/lab.env
echo "$(date -u +%s%3N) kubelet kubectl $KUBERNETES_VERSION" >> /var/lib/lab/installs.log`;
    const nodePreparation: NodePreparationSpec = { installer: "command", command: INSTALLER };
    const kubeletOf = async (host: string) => (await lab.exec(host, "kubelet --version")).stdout.trim();

    test("the preparations keep every member's kubelet; each install upgrades its own after the one before, with quorum counted first", async () => {
        expect(await finished(await up(undefined, 90, { nodePreparation }))).toBe("etcd healthy: members etcd-1,etcd-2,etcd-3");
        await settle();
        const run = await up(undefined, 90, { kubernetesVersion: "v1.33.3", nodePreparation });
        expect(await finished(run)).toBe("etcd healthy: members etcd-1,etcd-2,etcd-3");
        for (const h of HOSTS) {
            const prepared = run.runner.runs.find(r => r.name === `etcd-${h.name}-prepare`)!;
            expect(prepared.stdout).toContain("[prepare] kubelet 1.33.2 is kept: this host is in the cluster, and its kubelet does not change in its preparation (1.33.3 comes in its etcd step, one member at a time)");
            const install = run.runner.runs.find(r => r.name === `etcd-${h.name}-install`)!;
            expect(install.stdout).toContain(`etcd: 2 of 2 other voting members healthy (2 needed): ${h.name} may restart`);
            expect(install.stdout).toContain("[upgrade] kubelet and kubectl 1.33.2 → 1.33.3 (command)");
            expect(await kubeletOf(h.name)).toBe("Kubernetes v1.33.3");
        }
        // One member at a time: each package install falls within its own member's step, after the step before it ended.
        const installs = run.runner.runs.filter(r => r.name.endsWith("-install")).sort((a, b) => a.startedAt - b.startedAt);
        expect(installs.map(r => r.name)).toEqual(HOSTS.map(h => `etcd-${h.name}-install`));
        for (const [i, h] of HOSTS.entries()) {
            const [at] = fs.readFileSync(lab.path(h.name, "/var/lib/lab/installs.log"), "utf8").trim().split("\n").slice(-1)[0].split(" ");
            expect(Number(at)).toBeGreaterThanOrEqual(installs[i].startedAt);
            expect(Number(at)).toBeLessThanOrEqual(installs[i].startedAt + installs[i].durationMs);
            if (i > 0) expect(installs[i].startedAt).toBeGreaterThanOrEqual(installs[i - 1].startedAt + installs[i - 1].durationMs);
        }
        await settle();
    }, 300_000);
});
