// `npm run rehearse`: deploys the HA example's shape (3 etcd hosts, 3 control planes, HAProxy, N
// workers) onto lab hosts on this machine — namespaces with real sshd, bash, openssl, etcd and
// HAProxy (test/lab) — through Pulumi's mock runtime, and prints what each host ran and received
// and the health of what can run here. No Pulumi CLI, no cloud, no VMs. Root only.
//
//   npm run rehearse -- [--workers N] [--keep DIR] [--program PATH] [--upgrade-to VERSION [--from VERSION]]
//
// --upgrade-to deploys at the example's version (or --from), then runs the program again at VERSION
// against the same hosts and state, and prints the upgrade's timeline per host.
// --program rehearses your own program: it reads the same stack config as examples/ha-cluster
// (hosts, controlPlaneEndpoint, sshPrivateKey, cluster), which the rehearsal sets to the lab's.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { HAPROXY_BACKEND } from "../render/haproxy";
import { TIMELINE_PREFIX } from "../render/kubelet-upgrade";
import { resolveVersion } from "../render/versions";
import { haproxyBackends, Lab, labHosts } from "../test/lab/lab";
import { CommandRun, LabCommandRunner } from "../test/lab/runtime";
import { EngineState, MockRuntime, settle } from "../test/support/mocks";
import { useTypeScriptPrograms } from "./program-loader";

const ROOT = path.resolve(__dirname, "../..");
const MAX_WORKERS = 13; // the lab has at most 20 hosts
/** Checks the lab cannot pass: no crictl, and the machine's sysctls are the machine's. */
const LAB_SKIPS = ["FileExisting-crictl", "FileContent--proc-sys-net-ipv4-ip_forward", "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables"];
/** What the report copies with --keep: every path a step places files under. */
const KEPT_PATHS = ["/etc/kubernetes", "/var/lib/kubelet", "/etc/systemd/system", "/etc/haproxy", "/etc/default"];

interface Options { workers: number; keep?: string; program: string; upgradeTo?: string; from?: string }
/** The example's version, which the lab's kubelets run unless --from says otherwise. */
const DEFAULT_VERSION = "v1.33.2";

function parseArgs(argv: string[]): Options {
    const o: Options = { workers: 2, program: path.join(ROOT, "examples/ha-cluster/index.ts") };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined) usage(`${a} needs a value`);
            return v;
        };
        if (a === "--workers") {
            const v = value();
            o.workers = Number(v);
            if (!Number.isInteger(o.workers) || o.workers < 0 || o.workers > MAX_WORKERS) usage(`--workers ${v}: a whole number from 0 to ${MAX_WORKERS}`);
        } else if (a === "--keep") o.keep = path.resolve(value());
        else if (a === "--program") o.program = path.resolve(value());
        else if (a === "--upgrade-to") o.upgradeTo = version(a, value());
        else if (a === "--from") o.from = version(a, value());
        else usage(`unknown option ${a}`);
    }
    if (o.from && !o.upgradeTo) usage("--from goes with --upgrade-to");
    if (!fs.existsSync(o.program)) usage(`--program ${o.program}: no such file or directory`);
    return o;
}

function version(option: string, v: string): string {
    const r = resolveVersion(v);
    if (!r.ok) usage(`${option} ${v}: ${r.accepted}`);
    return r.value.version;
}

function usage(problem: string): never {
    console.error(`rehearse: ${problem}\nusage: npm run rehearse -- [--workers N (0-${MAX_WORKERS}, default 2)] [--keep DIR] [--program PATH] [--upgrade-to VERSION [--from VERSION]]`);
    process.exit(2);
}

/** The lab's hosts in the program's stack config (examples/ha-cluster's keys). */
function labConfig(lab: Lab, hosts: { name: string; address: string }[], kubernetesVersion: string): { config: Record<string, string>; secrets: string[] } {
    const role = (n: string) => (n.startsWith("etcd") ? "etcd" : n.startsWith("cp") ? "control-plane" : n.startsWith("worker") ? "worker" : "load-balancer");
    const lb = hosts.find(h => h.name === "lb-1")!;
    const values: Record<string, unknown> = {
        kubernetesVersion,
        hosts: hosts.map(h => ({ name: h.name, address: h.address, roles: [role(h.name)], ssh: { port: lab.sshPort } })),
        controlPlaneEndpoint: `${lb.address}:6443`,
        sshPrivateKey: lab.privateKey,
        cluster: {
            networking: { podSubnet: "10.244.0.0/16" },
            certificates: { encryptionAlgorithm: "ECDSA-P256" },
            ignorePreflightErrors: LAB_SKIPS,
            apiServer: { readinessTimeoutSeconds: 60 },
            loadBalancer: { bindAddress: lb.address },
            // The lab kubelet writes its kubelet.conf itself (nothing here signs CSRs), as a kubelet whose CSR was approved.
            join: { tlsBootstrapTimeoutSeconds: 60 },
            // The installer: the lab kubelet runs the version its lab.env names (apt-get install kubelet=… on a real host).
            nodePreparation: { installer: "command", command: LAB_INSTALLER },
            upgrade: { maxUnavailable: 1, kubeletReadyTimeoutSeconds: 60 },
        },
    };
    const project = pulumi.getProject();
    return {
        config: Object.fromEntries(Object.entries(values).map(([k, v]) => [`${project}:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
        secrets: [`${project}:sshPrivateKey`],
    };
}

const LAB_INSTALLER = 'sed -i "s/^LAB_KUBELET_VERSION=.*/LAB_KUBELET_VERSION=$KUBERNETES_VERSION/" /var/lib/lab/lab.env';

/** Until the program has registered everything and no step is running (or one failed). */
async function finished(runtime: MockRuntime, runner: LabCommandRunner): Promise<void> {
    const idle = (async () => {
        let last = -1;
        for (let quiet = 0; quiet < 15; ) {
            await new Promise(r => setTimeout(r, 200));
            await settle();
            const running = runner.runs.some(r => r.durationMs === 0 && r.exitCode === null && r.error === undefined);
            quiet = runtime.registrations.length === last && !running ? quiet + 1 : 0;
            last = runtime.registrations.length;
        }
    })();
    await Promise.race([idle, runtime.failure]);
}

/** A step's error without the script it ran: the first words, then what the host printed. */
function brief(error: string): string {
    const [first, ...output] = error.split("\n");
    const head = first.replace(/: running "[\s\S]*$/, "");
    return [head, ...output.slice(-20)].join("\n");
}

/** The paths a step placed: its "changed <path>" lines. */
const filesOf = (run: CommandRun) => run.stdout.split("\n").filter(l => l.startsWith("changed /")).map(l => l.slice("changed ".length));

/** What an upgrade step means on its host, for the timeline. */
const EVENTS: [RegExp, string][] = [
    [/-upgrade-preflight$/, "cluster healthy"], [/-etcd-snapshot$/, "etcd snapshot saved"], [/-preflight$/, "preflight passed"],
    [/-deregister-/, "deregistered"], [/^.*-etcd-.*-install$/, "etcd member changed"], [/-workers-.*-join$/, "kubelet config written"],
    [/-install$/, "manifests written"], [/-ready$/, "ready"], [/-register-/, "re-registered"], [/-upgraded$/, "upgraded"], [/-health$/, "etcd healthy"],
];
/** The events a kubelet step prints as it goes ("timeline drained worker-1 <time>"), by their word there. */
const PRINTED: Record<string, string> = { "drained": "drained", "kubelet-upgraded": "kubelet upgraded", "uncordoned": "uncordoned" };

/**
 * The upgrade's steps as events with the time each ended, in order. `host` is the node an event is
 * about (the one its step names: cp-1's deregistration runs on lb-1), `on` where its step ran.
 */
function timeline(runs: CommandRun[], hosts: { name: string; address: string }[]): { at: string; host: string; on: string; event: string; step: string }[] {
    const named = (step: string) => hosts.map(h => h.name).filter(n => step.includes(`-${n}-`)).sort((a, b) => b.length - a.length)[0];
    return runs.filter(r => r.exitCode === 0).map(r => ({ r, event: EVENTS.find(([re]) => re.test(r.name))?.[1] })).filter(x => x.event)
        .map(({ r, event }) => {
            const on = hosts.find(h => h.address === r.host)?.name ?? r.host;
            return { end: r.startedAt + r.durationMs, host: named(r.name) ?? on, on, event: event!, step: r.name };
        })
        .concat(runs.filter(r => r.exitCode === 0).flatMap(r => r.stdout.split("\n").filter(l => l.startsWith(TIMELINE_PREFIX)).map(l => {
            const [event, node, at] = l.slice(TIMELINE_PREFIX.length).split(" ");
            return { end: Date.parse(at), host: node, on: hosts.find(h => h.address === r.host)?.name ?? r.host, event: PRINTED[event] ?? event, step: r.name };
        })))
        .sort((a, b) => a.end - b.end)
        .map(e => ({ at: new Date(e.end).toISOString(), host: e.host, on: e.on, event: e.event, step: e.step }));
}

function etcdHealth(lab: Lab, members: { name: string; address: string }[]): { healthy: boolean; members: string[]; detail: string } {
    const pki = lab.path(members[0].name, "/etc/kubernetes/pki/etcd");
    const etcdctl = (...args: string[]) => spawnSync("etcdctl", [
        `--endpoints=${members.map(m => `https://${m.address}:2379`).join(",")}`, `--cacert=${pki}/ca.crt`,
        `--cert=${pki}/healthcheck-client.crt`, `--key=${pki}/healthcheck-client.key`, "--command-timeout=5s", ...args,
    ], { encoding: "utf8", env: { PATH: process.env.PATH, ETCDCTL_API: "3" }, timeout: 30_000 });
    const health = etcdctl("endpoint", "health");
    const list = etcdctl("member", "list", "-w", "json");
    let names: string[] = [];
    try { names = (JSON.parse(list.stdout).members ?? []).map((m: any) => `${m.name}${m.isLearner ? " (learner)" : ""}`).sort(); } catch { /* reported below */ }
    return { healthy: health.status === 0, members: names, detail: `${health.stdout}${health.stderr}`.trim() };
}

/** The node's kube-apiserver serving certificate, verified against the cluster CA for the node's address. */
function servingCertificate(lab: Lab, host: { name: string; address: string }): Promise<string> {
    const ca = fs.readFileSync(lab.path(host.name, "/etc/kubernetes/pki/ca.crt"));
    return new Promise(resolve => {
        const s = tls.connect({ host: host.address, port: 6443, ca, servername: undefined, timeout: 5000 }, () => {
            const cert = s.getPeerCertificate();
            s.end();
            resolve(`verified (CN=${cert.subject.CN}, ${cert.subjectaltname})`);
        });
        s.on("error", e => resolve(`not verified: ${e.message}`));
        s.on("timeout", () => { s.destroy(); resolve("not verified: timed out"); });
    });
}

function keepFiles(lab: Lab, dir: string, host: string): void {
    for (const p of KEPT_PATHS) {
        const from = lab.path(host, p);
        if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, host, p), { recursive: true, dereference: false, errorOnExist: false });
    }
}

async function main(): Promise<number> {
    const o = parseArgs(process.argv.slice(2));
    if (process.getuid?.() !== 0) usage("the lab needs root (namespaces, sshd, overlay mounts); run it as root");
    const names = ["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", ...Array.from({ length: o.workers }, (_, i) => `worker-${i + 1}`), "lb-1"];
    const hosts = labHosts(names);
    console.log(`rehearse: ${o.program} on ${hosts.length} lab hosts (${hosts.map(h => `${h.name} ${h.address}`).join(", ")})`);

    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.on(sig, () => {
            if (interrupted) return;
            interrupted = true;
            console.error(`rehearse: ${sig}: stopping every lab process`);
            void stopLab().then(() => process.exit(130));
        });
    }

    const started = Date.now();
    try {
        const from = o.upgradeTo ? o.from ?? DEFAULT_VERSION : undefined;
        lab = await Lab.start(hosts, { tlsBootstrap: true, ...(from ? { kubeletVersion: from } : {}) });
        const runner = new LabCommandRunner(lab);
        useTypeScriptPrograms(path.join(ROOT, ".tools/index.js"));
        // The engine's state between the two runs: the same keys and certificates, the recorded versions.
        const state: EngineState = new Map();
        const deploy = async (kubernetesVersion: string | undefined) => {
            const runtime = await new MockRuntime(runner.handle, state).start();
            const { config, secrets } = labConfig(lab!, hosts, kubernetesVersion ?? DEFAULT_VERSION);
            if (!kubernetesVersion) delete config[`${pulumi.getProject()}:kubernetesVersion`];
            pulumi.runtime.setAllConfig(config, secrets);
            delete require.cache[require.resolve(o.program)];
            require(o.program);
            await finished(runtime, runner);
        };
        await deploy(from);
        let upgrade: { from: string; to: string; timeline: ReturnType<typeof timeline> } | undefined;
        if (o.upgradeTo && !runner.runs.some(r => r.error !== undefined)) {
            console.log(`rehearse: deployed ${from} in ${Math.round((Date.now() - started) / 1000)} s; upgrading to ${o.upgradeTo}`);
            const first = runner.runs.length;
            await deploy(o.upgradeTo);
            upgrade = { from: from!, to: o.upgradeTo, timeline: timeline(runner.runs.slice(first), hosts) };
            runner.runs.splice(0, first);
        }

        const failed = runner.runs.filter(r => r.error !== undefined);
        const report: any = { program: o.program, lab: lab.stateDir, seconds: Math.round((Date.now() - started) / 100) / 10, hosts: {}, health: {}, failed: failed.map(f => ({ step: f.name, host: hosts.find(h => h.address === f.host)?.name, error: f.error })) };
        for (const h of hosts) {
            const runs = runner.runs.filter(r => r.host === h.address);
            report.hosts[h.name] = {
                address: h.address,
                steps: runs.map(r => ({ step: r.name, seconds: Math.round(r.durationMs / 100) / 10, exitCode: r.exitCode, ...(r.error ? { error: r.error.split("\n").slice(-3).join("\n") } : {}) })),
                files: [...new Set(runs.flatMap(filesOf))].sort(),
            };
        }
        const etcdMembers = hosts.filter(h => h.name.startsWith("etcd"));
        report.health.etcd = etcdHealth(lab, etcdMembers);
        report.health.loadBalancer = await haproxyBackends(lab, "lb-1");
        report.health.servingCertificates = Object.fromEntries(await Promise.all(hosts.filter(h => h.name.startsWith("cp")).map(async h => [h.name, await servingCertificate(lab!, h)])));

        for (const [name, h] of Object.entries<any>(report.hosts)) {
            console.log(`\n${name} (${h.address})`);
            for (const s of h.steps) console.log(`  ${s.exitCode === 0 ? "ok  " : "FAIL"} ${s.step.padEnd(44)} ${String(s.seconds).padStart(6)} s`);
            console.log(`  files: ${h.files.length ? h.files.join(", ") : "none"}`);
        }
        console.log(`\netcd: ${report.health.etcd.healthy ? "healthy" : "NOT healthy"}, members ${report.health.etcd.members.join(", ") || "(none)"}`);
        console.log(`load balancer (lb-1, ${HAPROXY_BACKEND}): ${Object.entries(report.health.loadBalancer).map(([s, st]) => `${s} ${st}`).join(", ")}`);
        for (const [cp, v] of Object.entries(report.health.servingCertificates)) console.log(`serving certificate ${cp}: ${v}`);
        if (upgrade) {
            report.upgrade = upgrade;
            console.log(`\nupgrade ${upgrade.from} → ${upgrade.to}, timeline:`);
            for (const e of upgrade.timeline) console.log(`  ${e.at}  ${e.host.padEnd(10)} ${e.event}${e.on !== e.host ? ` (on ${e.on})` : ""}`);
        }

        if (o.keep) {
            fs.mkdirSync(o.keep, { recursive: true });
            for (const h of hosts) keepFiles(lab, o.keep, h.name);
            fs.writeFileSync(path.join(o.keep, "report.json"), JSON.stringify(report, null, 2) + "\n");
            if (upgrade) fs.writeFileSync(path.join(o.keep, "timeline.json"), JSON.stringify(upgrade.timeline, null, 2) + "\n");
            console.log(`\nkept each host's files under ${o.keep}/<host>/ and the report as ${o.keep}/report.json`);
        }
        const unhealthy = !report.health.etcd.healthy || Object.values(report.health.loadBalancer).some(s => s !== "UP");
        if (failed.length) {
            for (const f of report.failed) console.error(`\nrehearse: step ${f.step} on ${f.host} failed:\n${brief(f.error)}`);
            return 1;
        }
        if (unhealthy) {
            console.error("\nrehearse: every step succeeded but the cluster is not healthy (see above)");
            return 1;
        }
        console.log(`\nrehearse: ${runner.runs.length} steps on ${hosts.length} hosts succeeded in ${report.seconds} s`);
        return 0;
    } catch (e) {
        if (!interrupted) console.error(`rehearse: ${brief((e as Error).message)}`);
        return 1;
    } finally {
        await stopLab();
    }
}

let lab: Lab | undefined;
let stopped: Promise<void> | undefined;
let interrupted = false;
/** Stops the lab once (every process it started, by pid; its state dir with the key), whoever asks first. */
function stopLab(): Promise<void> {
    stopped ??= (lab?.stop() ?? Promise.resolve()).catch(e => console.error(`rehearse: stopping the lab: ${e.message}`));
    return stopped;
}

main().then(async code => {
    await stopLab();
    process.exit(interrupted ? 130 : code);
}, async e => {
    console.error(e);
    await stopLab();
    process.exit(1);
});
