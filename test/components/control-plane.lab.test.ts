import { execFileSync, spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { ControlPlane } from "../../components/control-plane";
import { controlPlanePreflightChecks, controlPlanePreflightScript } from "../../render/control-plane-scripts";
import { RESTART_PENDING } from "../../render/scripts";
import { EtcdCluster } from "../../components/etcd";
import { ClusterPki } from "../../components/pki";
import { ClusterSpec, HostSpec } from "../../spec/types";
import { etcdctl } from "../../scripts/real-tools";
import { cgroupsV1, Lab, labHosts } from "../lab/lab";
import { LabCommandRunner } from "../lab/runtime";
import { EngineState, MockRuntime, settle } from "../support/mocks";
import { tempDir } from "../support/openssl";
import { LAB_SKIPS } from "../../scripts/rehearsal-config";

// 3 dedicated etcd hosts, 3 control planes and a load balancer running Debian's haproxy, all real
// sshd + bash; the kube-apiserver binary is not here, so the lab kubelet serves its health
// endpoints with the node's real serving certificate and etcd flags.
const HOSTS = labHosts(["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "lb-1"]);
const at = (name: string) => HOSTS.find(h => h.name === name)!;
const ETCD = HOSTS.filter(h => h.name.startsWith("etcd"));
const CPS = HOSTS.filter(h => h.name.startsWith("cp"));
const LB = at("lb-1");
const ENDPOINT = `${LB.address}:6443`;
// Checks this machine cannot pass and a lab must not fix (the kernel is shared): named skips.
const SKIPPED = LAB_SKIPS;
const CLOUD_DROPIN = "[Service]\nEnvironment=\"KUBELET_EXTRA_ARGS=--cloud-provider=external\"\n";

let lab: Lab;
let scratch: { dir: string; remove: () => void };
const engineState: EngineState = new Map();

interface Run { runner: LabCommandRunner; runtime: MockRuntime; cp: ControlPlane; etcd: EtcdCluster }

const outcome = <T>(o: pulumi.Output<T>): Promise<T> => (o as any).promise();
const finished = (run: Run) => Promise.race([outcome(run.cp.ready), run.runtime.failure]);

function spec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
    const hosts: HostSpec[] = HOSTS.map(h => ({
        name: h.name, address: h.address,
        roles: [h.name.startsWith("etcd") ? "etcd" : h.name.startsWith("cp") ? "control-plane" : "load-balancer"],
        ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(h.name) },
    }));
    return {
        kubernetesVersion: "v1.33.2", controlPlaneEndpoint: ENDPOINT, networking: { podSubnet: "10.244.0.0/16" }, hosts,
        certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: SKIPPED, apiServer: { readinessTimeoutSeconds: 60 },
        kubelet: { dropIns: [{ name: "20-cloud-provider.conf", content: CLOUD_DROPIN }] },
        // Lab hosts share one network namespace: HAProxy binds its own address, not every address.
        loadBalancer: { bindAddress: LB.address },
        ...overrides,
    };
}

/** One `pulumi up` of the program; remote commands run for real over SSH. */
async function up(overrides: Partial<ClusterSpec> = {}): Promise<Run> {
    const runner = new LabCommandRunner(lab);
    const runtime = await new MockRuntime(runner.handle, engineState).start();
    const s = spec(overrides);
    const pki = new ClusterPki("pki", {
        controlPlaneEndpoint: ENDPOINT, networking: s.networking, kubeconfigs: true, certificates: s.certificates,
        controlPlanes: CPS.map(h => ({ name: h.name, address: h.address })), etcdMembers: ETCD.map(h => ({ name: h.name, address: h.address })),
    });
    const etcd = new EtcdCluster("etcd", {
        kubernetesVersion: s.kubernetesVersion!, members: s.hosts.filter(h => h.roles.includes("etcd")), pki, healthTimeoutSeconds: 90,
    });
    const cp = new ControlPlane("cp", { ...s, pki, etcdClientEndpoints: etcd.clientEndpoints });
    return { runner, runtime, cp, etcd };
}

const read = (host: string, p: string) => fs.readFileSync(lab.path(host, p), "utf8");
/** The paths a host lists as placed and not yet acted on. */
const pendingOn = (host: string) => (fs.existsSync(lab.path(host, RESTART_PENDING)) ? read(host, RESTART_PENDING).split("\n").filter(Boolean) : []);
const mode = (host: string, p: string) => (fs.statSync(lab.path(host, p)).mode & 0o777).toString(8);
const flagOf = (command: string[], name: string) => command.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** Who served a TLS connection through the load balancer: the node name in its serving certificate. */
function servedBy(address: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const sock = tls.connect({ host: address, port, rejectUnauthorized: false }, () => {
            const cert = sock.getPeerX509Certificate();
            sock.end();
            const names = (cert?.subjectAltName ?? "").split(", ").filter(n => n.startsWith("DNS:")).map(n => n.slice(4));
            resolve(names.find(n => /^cp-\d$/.test(n)) ?? `unknown (${names.join(",")})`);
        });
        sock.setTimeout(5000, () => sock.destroy(new Error("timeout")));
        sock.on("error", reject);
    });
}

async function spread(times = 24): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < times; i++) {
        const who = await servedBy(LB.address, 6443);
        seen[who] = (seen[who] ?? 0) + 1;
    }
    return seen;
}

beforeAll(async () => {
    lab = await Lab.start(HOSTS);
    scratch = tempDir("cp-lab-");
}, 120_000);

afterAll(async () => {
    await lab?.stop();
    scratch?.remove();
}, 60_000);

describe("ControlPlane: 3 control planes behind HAProxy on a 3-member etcd cluster, in the lab", () => {
    let first: Run;

    test("the control planes come up one at a time, each ready before the next, then registered with HAProxy", async () => {
        first = await up();
        const ready = await finished(first);
        for (const h of CPS) expect(ready[h.name]).toBe(`kube-apiserver on ${h.name} is ready (https://${h.address}:6443/readyz)`);
        const order = first.runner.runs.filter(r => r.name.startsWith("cp-cp-")).sort((a, b) => a.startedAt - b.startedAt);
        const steps = order.filter(r => !r.name.endsWith("-preflight")).map(r => r.name);
        expect(steps).toEqual(CPS.flatMap(h => [`cp-${h.name}-deregister-lb-1`, `cp-${h.name}-install`, `cp-${h.name}-ready`, `cp-${h.name}-register-lb-1`, `cp-${h.name}-upgraded`]));
        const end = (name: string) => { const r = order.find(x => x.name === name)!; return r.startedAt + r.durationMs; };
        const start = (name: string) => order.find(x => x.name === name)!.startedAt;
        for (const h of CPS) expect(start(`cp-${h.name}-install`)).toBeGreaterThanOrEqual(Math.max(...CPS.map(c => end(`cp-${c.name}-preflight`))));
        for (let i = 1; i < CPS.length; i++) expect(start(`cp-${CPS[i].name}-deregister-lb-1`)).toBeGreaterThanOrEqual(end(`cp-${CPS[i - 1].name}-register-lb-1`));
        for (const h of CPS) expect(order.find(r => r.name === `cp-${h.name}-register-lb-1`)!.stdout.trim()).toBe(`registered ${h.name} on lb-1: UP`);
        await settle();
    }, 300_000);

    test("every file kubeadm writes is in place with kubeadm's modes; super-admin.conf on the first control plane only", () => {
        const pki = "/etc/kubernetes/pki";
        const certs = ["ca", "front-proxy-ca", "apiserver", "apiserver-kubelet-client", "front-proxy-client", "apiserver-etcd-client", "etcd/ca"];
        const keys = ["ca", "front-proxy-ca", "apiserver", "apiserver-kubelet-client", "front-proxy-client", "apiserver-etcd-client", "sa"];
        for (const h of CPS) {
            const expected: Record<string, string> = {
                ...Object.fromEntries(certs.map(c => [`${pki}/${c}.crt`, "644"])), ...Object.fromEntries(keys.map(k => [`${pki}/${k}.key`, "600"])),
                [`${pki}/sa.pub`]: "600",
                "/etc/kubernetes/admin.conf": "600", "/etc/kubernetes/controller-manager.conf": "600", "/etc/kubernetes/scheduler.conf": "600", "/etc/kubernetes/kubelet.conf": "600",
                "/etc/kubernetes/manifests/kube-apiserver.yaml": "600", "/etc/kubernetes/manifests/kube-controller-manager.yaml": "600", "/etc/kubernetes/manifests/kube-scheduler.yaml": "600",
                "/var/lib/kubelet/config.yaml": "644", "/var/lib/kubelet/kubeadm-flags.env": "644",
                "/etc/kubernetes/enc/encryption-config.yaml": "600", "/etc/systemd/system/kubelet.service.d/20-cloud-provider.conf": "644",
            };
            if (h.name === "cp-1") expected["/etc/kubernetes/super-admin.conf"] = "600";
            for (const [p, m] of Object.entries(expected)) expect({ file: `${h.name}:${p}`, mode: mode(h.name, p), uid: fs.statSync(lab.path(h.name, p)).uid }).toEqual({ file: `${h.name}:${p}`, mode: m, uid: 0 });
            if (h.name !== "cp-1") expect(fs.existsSync(lab.path(h.name, "/etc/kubernetes/super-admin.conf"))).toBe(false);
            expect(mode(h.name, "/etc/kubernetes/manifests")).toBe("700");
            expect(fs.existsSync(lab.path(h.name, "/etc/kubernetes/pki/etcd/ca.key"))).toBe(false);
        }
    });

    test("each apiserver certificate names its own node and address; /readyz verifies under every DNS name and IP kubeadm puts in the SANs, trusting only ca.crt", async () => {
        const ca = path.join(scratch.dir, "ca.crt");
        fs.writeFileSync(ca, read("cp-1", "/etc/kubernetes/pki/ca.crt"));
        for (const h of CPS) {
            const cert = new X509Certificate(read(h.name, "/etc/kubernetes/pki/apiserver.crt"));
            const sans = cert.subjectAltName!.split(", ");
            // Reference §1.3: node name, kubernetes.*, the service IP, the node's address, the endpoint's IP.
            expect(sans.sort()).toEqual([
                `DNS:${h.name}`, "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local",
                "IP Address:10.96.0.1", `IP Address:${h.address}`, `IP Address:${LB.address}`,
            ].sort());
            for (const san of sans) {
                const name = san.replace(/^(DNS:|IP Address:)/, "");
                const r = spawnSync("curl", ["-sS", "--max-time", "5", "--cacert", ca, "--connect-to", `${name}:6443:${h.address}:6443`, `https://${name}:6443/readyz`], { encoding: "utf8" });
                expect({ node: h.name, san, out: r.stdout.trim(), err: r.stderr.trim() }).toEqual({ node: h.name, san, out: "ok", err: "" });
            }
            const wrong = spawnSync("curl", ["-sS", "--max-time", "5", "--cacert", ca, "--connect-to", `cp-9:6443:${h.address}:6443`, "https://cp-9:6443/readyz"], { encoding: "utf8" });
            expect(wrong.status).not.toBe(0);
            expect(wrong.stderr).toMatch(/cp-9|subject alternative name|no alternative certificate subject name/i);
            expect(lab.pods(h.name)["kube-apiserver"]).toMatchObject({ state: "running" });
        }
    }, 60_000);

    test("the rendered kube-apiserver's etcd flags really connect to the lab's etcd cluster with etcdctl", () => {
        const pod: any = yaml.load(read("cp-2", "/etc/kubernetes/manifests/kube-apiserver.yaml"));
        const command: string[] = pod.spec.containers[0].command;
        expect(flagOf(command, "etcd-servers")).toBe(ETCD.map(h => `https://${h.address}:2379`).join(","));
        const file = (flag: string) => lab.path("cp-2", flagOf(command, flag)!);
        const r = spawnSync(etcdctl(), [
            `--endpoints=${flagOf(command, "etcd-servers")}`, `--cacert=${file("etcd-cafile")}`, `--cert=${file("etcd-certfile")}`, `--key=${file("etcd-keyfile")}`,
            "--dial-timeout=3s", "--command-timeout=5s", "endpoint", "health",
        ], { encoding: "utf8", env: { ...process.env } });
        expect(r.status).toBe(0);
        for (const h of ETCD) expect(`${r.stdout}${r.stderr}`).toContain(`https://${h.address}:2379 is healthy`);
    });

    test("every kubeconfig loads in kubectl and names kubeadm's server and user; its client certificate is that user's", () => {
        const endpoint = `https://${ENDPOINT}`;
        for (const h of CPS) {
            const local = `https://${h.address}:6443`;
            const expected: [string, string, string, string][] = [
                ["admin.conf", "kubernetes-admin", endpoint, "O=kubeadm:cluster-admins, CN=kubernetes-admin"],
                ["controller-manager.conf", "system:kube-controller-manager", local, "CN=system:kube-controller-manager"],
                ["scheduler.conf", "system:kube-scheduler", local, "CN=system:kube-scheduler"],
                // 1.33: ControlPlaneKubeletLocalMode is on by default.
                ["kubelet.conf", `system:node:${h.name}`, local, `O=system:nodes, CN=system:node:${h.name}`],
                ...(h.name === "cp-1" ? [["super-admin.conf", "kubernetes-super-admin", endpoint, "O=system:masters, CN=kubernetes-super-admin"] as [string, string, string, string]] : []),
            ];
            for (const [file, user, server, subject] of expected) {
                const kubeconfig = lab.path(h.name, `/etc/kubernetes/${file}`);
                const view = JSON.parse(execFileSync("kubectl", ["config", "view", "--kubeconfig", kubeconfig, "--raw", "-o", "json"], { encoding: "utf8" }));
                expect({ file, context: view["current-context"], server: view.clusters[0].cluster.server, user: view.users[0].name })
                    .toEqual({ file, context: `${user}@kubernetes`, server, user });
                const certPem = Buffer.from(view.users[0].user["client-certificate-data"], "base64").toString();
                const printed = execFileSync("openssl", ["x509", "-noout", "-subject", "-nameopt", "RFC2253"], { input: certPem, encoding: "utf8" }).trim();
                expect(printed.replace(/^subject=/, "").split(",").reverse().join(", ")).toBe(subject);
            }
        }
    });

    test("the kubelet runs with kubeadm's files, the packaged drop-in, the user's drop-in and the control-plane taint", () => {
        for (const h of CPS) {
            const kubelet = lab.kubelet(h.name)!;
            expect(kubelet.state).toBe("running");
            expect(kubelet.args).toEqual(expect.arrayContaining([
                "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf", "--kubeconfig=/etc/kubernetes/kubelet.conf", "--config=/var/lib/kubelet/config.yaml",
                "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock", `--node-ip=${h.address}`, "--pod-infra-container-image=registry.k8s.io/pause:3.10",
                "--register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule", "--cloud-provider=external",
            ]));
            expect(read(h.name, "/var/lib/kubelet/kubeadm-flags.env")).toBe(`KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10 --register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule --node-ip=${h.address}"\n`);
            expect(fs.existsSync(lab.path(h.name, "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"))).toBe(false);
            expect(lab.systemctlCalls(h.name).join("\n")).toMatch(/daemon-reload[\s\S]*restart kubelet/);
            expect(lab.pods(h.name)["kube-controller-manager"]).toMatchObject({ state: "not-runnable" });
        }
    });

    test("Secrets are encrypted at rest: an aescbc EncryptionConfiguration with one 32-byte key, the same on every control plane, passed to kube-apiserver", () => {
        const configs = CPS.map(h => read(h.name, "/etc/kubernetes/enc/encryption-config.yaml"));
        expect(new Set(configs).size).toBe(1);
        const config: any = yaml.load(configs[0]);
        expect(config).toMatchObject({ apiVersion: "apiserver.config.k8s.io/v1", kind: "EncryptionConfiguration" });
        expect(config.resources).toHaveLength(1);
        expect(config.resources[0].resources).toEqual(["secrets"]);
        const [aescbc, identity] = config.resources[0].providers;
        expect(identity).toEqual({ identity: {} });
        expect(aescbc.aescbc.keys).toHaveLength(1);
        expect(aescbc.aescbc.keys[0].name).toBe("key1");
        expect(Buffer.from(aescbc.aescbc.keys[0].secret, "base64")).toHaveLength(32);
        const pod: any = yaml.load(read("cp-1", "/etc/kubernetes/manifests/kube-apiserver.yaml"));
        expect(pod.spec.containers[0].command).toContain("--encryption-provider-config=/etc/kubernetes/enc/encryption-config.yaml");
        expect(pod.spec.volumes).toContainEqual({ hostPath: { path: "/etc/kubernetes/enc", type: "DirectoryOrCreate" }, name: "encryption-config" });
    });

    test("no private key or encryption key appears in any command text or recorded output", () => {
        const key = (yaml.load(read("cp-1", "/etc/kubernetes/enc/encryption-config.yaml")) as any).resources[0].providers[0].aescbc.keys[0].secret;
        for (const run of first.runner.runs) {
            expect(run.command).not.toMatch(/PRIVATE KEY|client-key-data/);
            expect(run.command).not.toContain(key);
            expect(`${run.stdout}${run.stderr}`).not.toMatch(/PRIVATE KEY/);
        }
        const installs = first.runtime.resources.filter(r => r.name.endsWith("-install") && r.name.startsWith("cp-"));
        expect(installs).toHaveLength(3);
        for (const r of installs) {
            expect(r.secretInputs).toContain("stdin");
            expect(r.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
            expect(r.inputs.logging).toBe("none");
        }
    });

    test("HAProxy forwards to all three control planes; a deregistered one receives no traffic until registered again; the register step's delete leaves a control plane still in haproxy.cfg", async () => {
        expect(Object.keys(await spread()).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        const register = first.runtime.resources.find(r => r.name === "cp-cp-2-register-lb-1")!;
        const drain = first.runtime.resources.find(r => r.name === "cp-cp-2-deregister-lb-1")!;
        const kept = await lab.exec("lb-1", register.inputs.delete);
        expect(kept).toMatchObject({ code: 0, stdout: "cp-2 is still a server in /etc/haproxy/haproxy.cfg on lb-1 (the cluster keeps it: a renamed or re-parented step was deleted), so it stays registered\n" });
        expect(Object.keys(await spread()).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        const off = await lab.exec("lb-1", drain.inputs.create);
        expect(off).toMatchObject({ code: 0 });
        expect(off.stdout).toContain("deregistered cp-2 on lb-1: MAINT");
        const without = await spread();
        expect(Object.keys(without).sort()).toEqual(["cp-1", "cp-3"]);
        const on = await lab.exec("lb-1", register.inputs.create);
        expect(on).toMatchObject({ code: 0, stdout: "registered cp-2 on lb-1: UP\n" });
        expect(Object.keys(await spread()).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        expect(lab.systemctlCalls("lb-1").filter(c => /^(restart|reload)/.test(c))).toEqual([]);
    }, 120_000);

    test("preflight names every failed check with its fix; skipping them by kubeadm's names lets it pass", async () => {
        // Another cluster's control plane at cp-1's address: its ports are taken and it is not ours.
        const script = (ignore: string[]) => controlPlanePreflightScript({
            host: "cp-1", step: "control-plane preflight", node: { name: "cp-9", address: at("cp-1").address }, bindPort: 6443,
            criSocket: "unix:///run/containerd/containerd.sock", certificatesDir: "/etc/kubernetes/pki", caSha256: "0".repeat(64), swapTolerated: false, ignore, kubeletMinor: "1.37",
        });
        const failed = await lab.exec("cp-1", script([]));
        expect(failed.code).toBe(1);
        expect(failed.stderr).toMatch(/^\[cp-1\] control-plane preflight: \d+ check\(s\) failed:$/m);
        expect(failed.stderr).toContain(`- Port-6443: port 6443 is in use on ${at("cp-1").address}`);
        expect(failed.stderr).toContain("- FileExisting-crictl: crictl not found in PATH; install it");
        expect(failed.stderr).toContain("- FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml: /etc/kubernetes/manifests/kube-apiserver.yaml already exists");
        if (fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() !== "1") expect(failed.stderr).toContain("- FileContent--proc-sys-net-ipv4-ip_forward: /proc/sys/net/ipv4/ip_forward is not 1");
        // A kubelet of 1.37 refuses a cgroups v1 host (KEP-5573), as kubeadm's SystemVerification does.
        if (cgroupsV1()) expect(failed.stderr).toContain("- SystemVerification: this host runs cgroups v1, which the kubelet refuses from 1.35");
        else expect(failed.stderr).not.toContain("SystemVerification");
        expect(failed.stdout).not.toMatch(/^facts /m);
        const skipped = await lab.exec("cp-1", script(controlPlanePreflightChecks(6443, false)));
        expect(skipped).toMatchObject({ code: 0 });
        expect(skipped.stdout).toContain("[preflight] ignored Port-6443");
        expect(skipped.stdout).toMatch(/^facts \{"hostname":"cp-1","caCertDirs":\[.*\],"resolvConf":"","joined":false\}$/m);
    });

    test("running the same program again changes no file and restarts nothing", async () => {
        const files = (h: string) => ["/etc/kubernetes/manifests/kube-apiserver.yaml", "/etc/kubernetes/admin.conf", "/var/lib/kubelet/config.yaml", "/etc/kubernetes/enc/encryption-config.yaml"]
            .map(p => createHash("sha256").update(read(h, p)).digest("hex"));
        const before = CPS.map(h => files(h.name));
        const pids = CPS.map(h => lab.pods(h.name)["kube-apiserver"].pid);
        const restarts = CPS.map(h => lab.systemctlCalls(h.name).filter(c => c.startsWith("restart")).length);
        const second = await up();
        await finished(second);
        for (const r of second.runner.runs.filter(x => x.name.startsWith("cp-") && x.name.endsWith("-install"))) expect(r.stdout.trim()).toBe("no changes");
        expect(CPS.map(h => files(h.name))).toEqual(before);
        expect(CPS.map(h => lab.pods(h.name)["kube-apiserver"].pid)).toEqual(pids);
        expect(CPS.map(h => lab.systemctlCalls(h.name).filter(c => c.startsWith("restart")).length)).toEqual(restarts);
        expect(Object.keys(await spread()).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        await settle();
    }, 300_000);

    test("a flag change rolls through the control planes one at a time: deregistered, replaced, ready, registered", async () => {
        const pids = Object.fromEntries(CPS.map(h => [h.name, lab.pods(h.name)["kube-apiserver"].pid]));
        const run = await up({ apiServer: { readinessTimeoutSeconds: 60, extraArgs: [{ name: "audit-log-maxage", value: "30" }] } });
        await finished(run);
        const steps = run.runner.runs.filter(r => r.name.startsWith("cp-cp-") && !r.name.endsWith("-preflight")).sort((a, b) => a.startedAt - b.startedAt);
        expect(steps.map(r => r.name)).toEqual(CPS.flatMap(h => [`cp-${h.name}-deregister-lb-1`, `cp-${h.name}-install`, `cp-${h.name}-ready`, `cp-${h.name}-register-lb-1`, `cp-${h.name}-upgraded`]));
        for (let i = 1; i < steps.length; i++) expect(steps[i].startedAt).toBeGreaterThanOrEqual(steps[i - 1].startedAt + steps[i - 1].durationMs);
        for (const h of CPS) {
            const pod = lab.pods(h.name)["kube-apiserver"];
            expect(pod.pid).not.toBe(pids[h.name]);
            expect(pod.command).toContain("--audit-log-maxage=30");
            expect(steps.find(r => r.name === `cp-${h.name}-deregister-lb-1`)!.stdout).toMatch(new RegExp(`^deregistered ${h.name} on lb-1: MAINT$`, "m"));
        }
        expect(Object.keys(await spread()).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        await settle();
    }, 300_000);

    test("a run whose SSH session is cut right after a file is placed: the next run still restarts the kubelet, and the rollback is kept", async () => {
        const args = {
            apiServer: { readinessTimeoutSeconds: 60, extraArgs: [{ name: "audit-log-maxage", value: "30" }, { name: "audit-log-maxbackup", value: "5" }] },
            kubelet: { dropIns: [{ name: "20-cloud-provider.conf", content: CLOUD_DROPIN }], config: { maxPods: 150 } },
        };
        const restarts = () => lab.systemctlCalls("cp-1").filter(c => c === "restart kubelet").length;
        const before = restarts();
        lab.cutSshAfterMove("cp-1", "/etc/kubernetes/manifests/kube-apiserver.yaml");
        const cut = await up(args);
        const error = await finished(cut).then(() => undefined, e => e as Error);
        expect(error?.message).toContain("cp-cp-1-install");
        expect(lab.sshCuts("cp-1")).toHaveLength(1);
        // In place, not acted on: the kubelet was not restarted; both paths are pending; the pointer names the old manifests.
        expect(read("cp-1", "/var/lib/kubelet/config.yaml")).toMatch(/^maxPods: 150$/m);
        expect(read("cp-1", "/etc/kubernetes/manifests/kube-apiserver.yaml")).toContain("--audit-log-maxbackup=5");
        expect(restarts()).toBe(before);
        expect(pendingOn("cp-1")).toEqual(expect.arrayContaining(["/var/lib/kubelet/config.yaml", "/etc/kubernetes/manifests/kube-apiserver.yaml"]));
        const [, backup] = read("cp-1", "/etc/kubernetes/tmp/pulumi-kubeadm-manifests-backup").split(" ");
        expect(read("cp-1", `${backup}/kube-apiserver.yaml`)).not.toContain("--audit-log-maxbackup=5");
        expect(read("cp-1", `${backup}/kube-apiserver.yaml`)).toContain("kube-apiserver");

        const again = await up(args);
        await finished(again);
        const install = again.runner.runs.find(r => r.name === "cp-cp-1-install")!;
        expect(install.stdout).toContain("changed /var/lib/kubelet/config.yaml (placed by a run that stopped before acting on it)");
        expect(install.stdout).toContain("restarted kubelet");
        expect(restarts()).toBe(before + 1);
        expect(pendingOn("cp-1")).toEqual([]);
        expect(flagOf(lab.pods("cp-1")["kube-apiserver"].command ?? [], "audit-log-maxbackup")).toBe("5");
        // The nodes after it ran their install once, uncut: nothing is pending there either.
        for (const h of CPS.slice(1)) expect(pendingOn(h.name)).toEqual([]);
        expect(Object.keys(await spread()).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        await settle();
    }, 400_000);

    test("raising keyVersion rotates the key one control plane at a time, and keeps the old key while Secrets cannot be rewritten", async () => {
        const args = { apiServer: { readinessTimeoutSeconds: 60, extraArgs: [{ name: "audit-log-maxage", value: "30" }] } };
        const oldKey = (yaml.load(read("cp-1", "/etc/kubernetes/enc/encryption-config.yaml")) as any).resources[0].providers[0].aescbc.keys[0];
        const run = await up({ ...args, encryptionAtRest: { keyVersion: 2 } });
        const error = await finished(run).then(() => undefined, e => e as Error);
        // The lab's kube-apiserver stand-in serves health endpoints only, so rewriting Secrets fails, and with it the rotation stops.
        expect(error?.message).toMatch(/cp-key2-rewrite/);
        expect(error?.message).toContain("the old key is kept until this succeeds");
        const rotation = run.runner.runs.filter(r => r.name.startsWith("cp-key2-")).sort((a, b) => a.startedAt - b.startedAt);
        // Each node's kube-apiserver restarts out of HAProxy: deregistered, rotated (restarted, ready), registered again.
        const around = (step: string) => [`${step}-deregister-lb-1`, step, `${step}-register-lb-1`];
        expect(rotation.map(r => r.name)).toEqual([...CPS.flatMap(h => around(`cp-key2-add-${h.name}`)), ...CPS.flatMap(h => around(`cp-key2-promote-${h.name}`)), "cp-key2-rewrite"]);
        for (let i = 1; i < rotation.length; i++) expect(rotation[i].startedAt).toBeGreaterThanOrEqual(rotation[i - 1].startedAt + rotation[i - 1].durationMs);
        for (const r of rotation.filter(x => /-(add|promote)-cp-\d$/.test(x.name))) expect(r.stdout).toMatch(/restarted kube-apiserver[\s\S]*is ready/);
        for (const r of rotation.filter(x => x.name.endsWith("-register-lb-1"))) expect(r.stdout.trim()).toMatch(/^registered cp-\d on lb-1: UP$/);
        expect(Object.keys(await spread()).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        for (const h of CPS) {
            const keys = (yaml.load(read(h.name, "/etc/kubernetes/enc/encryption-config.yaml")) as any).resources[0].providers[0].aescbc.keys;
            expect(keys.map((k: any) => k.name)).toEqual(["key2", "key1"]);
            expect(keys[1]).toEqual(oldKey);
        }
        expect(run.runner.runs.some(r => r.name.endsWith("-install") && r.name.startsWith("cp-"))).toBe(false);
        await new Promise(r => setTimeout(r, 1000));
        await settle();
    }, 300_000);

    test("a host refuses an encryption configuration that cannot read what its data is stored under (another provider, without the preview's check)", async () => {
        const before = read("cp-1", "/etc/kubernetes/enc/encryption-config.yaml");
        const pid = lab.pods("cp-1")["kube-apiserver"].pid;
        const run = await up({ apiServer: { readinessTimeoutSeconds: 60 }, encryptionAtRest: { keyVersion: 2, provider: "secretbox" } });
        const error = await finished(run).then(() => undefined, e => e as Error);
        expect(error?.message).toContain("cp-key2-add-cp-1");
        expect(error?.message).toMatch(/cp-1.*the new encryption configuration cannot read data stored under the one in place \(resource=provider:key:digest\): secrets=aescbc:key2:[0-9a-f]{16}; it was not placed/s);
        expect(read("cp-1", "/etc/kubernetes/enc/encryption-config.yaml")).toBe(before);
        expect(fs.readdirSync(lab.path("cp-1", "/etc/kubernetes/enc"))).toEqual(["encryption-config.yaml"]);
        expect(lab.pods("cp-1")["kube-apiserver"].pid).toBe(pid);
        expect(run.runner.runs.some(r => r.name === "cp-key2-add-cp-2")).toBe(false);
        await new Promise(r => setTimeout(r, 1000));
        await settle();
    }, 300_000);
});
