// `npm run rehearse`: deploys a program onto lab hosts on this machine — namespaces with real sshd,
// bash, openssl, etcd and HAProxy (test/lab) — through Pulumi's mock runtime, and prints what each
// host ran and received and the health of what ran. No Pulumi CLI, no cloud, no VMs. Root only.
//
//   npm run rehearse -- [--workers N] [--keep DIR] [--program PATH [--stack NAME]] [--upgrade-to VERSION [--from VERSION]]
//
// As `pulumi up` does, it type-checks the program and previews it first (the plan, the upgrade's
// skew verdicts), and touches no host when either fails. Without --program it rehearses
// examples/ha-cluster in its own shape (3 etcd hosts, 3 control planes, HAProxy, N workers). With
// --program, one lab host per host of the program's stack config (Pulumi.<stack>.yaml, else
// Pulumi.example.yaml): the config the program reads is that config with the lab's addresses, SSH
// and key (rehearsal-config.ts).
// --upgrade-to deploys at the stack's version (or --from, or the example's), then runs the program
// again at VERSION against the same hosts and state, and prints the upgrade's timeline per host.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { APISERVER_MANIFEST } from "../render/control-plane-scripts";
import { ETCD_MANIFEST } from "../render/etcd-scripts";
import { HAPROXY_BACKEND, HAPROXY_CONFIG } from "../render/haproxy";
import { TIMELINE_PREFIX } from "../render/kubelet-upgrade";
import { resolveVersion } from "../render/versions";
import { haproxyBackends, Lab, labHosts, LabHostSpec } from "../test/lab/lab";
import { CommandRun, LabCommandRunner } from "../test/lab/runtime";
import { EngineState, MockRuntime, Registration, settle } from "../test/support/mocks";
import { typeCheckProgram, useTypeScriptPrograms } from "./program-loader";
import { asPulumiConfig, defaultShape, labStackConfig, MAX_HOSTS, readStackConfig, RehearsalConfigError, Shape, shapeOf, StackConfig } from "./rehearsal-config";
import { etcdctl as realEtcdctl } from "./real-tools";
import { NEWEST_RELEASE } from "../render/versions";

const ROOT = path.resolve(__dirname, "../..");
const LIBRARY = path.join(ROOT, ".tools/index.js");
const SSH_PORT = 2222;
/** The HA shape has 7 hosts besides its workers. */
const MAX_WORKERS = MAX_HOSTS - 7;
/** What --keep copies of each host: these paths whole (the lab keeps them per host), and of any other path only the files the steps placed (/etc/haproxy's are the machine's own elsewhere). */
const KEPT_PATHS = ["/etc/kubernetes", "/var/lib/kubelet", "/etc/systemd/system", "/etc/default"];

interface Options { workers?: number; keep?: string; program?: string; stack?: string; upgradeTo?: string; from?: string }
/** The example's version, which the lab's kubelets run unless --from says otherwise. */
const DEFAULT_VERSION = NEWEST_RELEASE;
const USAGE = `usage: npm run rehearse -- [--workers N (0-${MAX_WORKERS}, default 2)] [--keep DIR] [--program PATH [--stack NAME]] [--upgrade-to VERSION [--from VERSION]]`;

function parseArgs(argv: string[]): Options {
    const o: Options = {};
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
        else if (a === "--stack") o.stack = value();
        else if (a === "--upgrade-to") o.upgradeTo = version(a, value());
        else if (a === "--from") o.from = version(a, value());
        else usage(`unknown option ${a}`);
    }
    if (o.from && !o.upgradeTo) usage("--from goes with --upgrade-to");
    if (o.stack && !o.program) usage("--stack goes with --program");
    if (o.program && !fs.existsSync(o.program)) usage(`--program ${o.program}: no such file or directory`);
    return o;
}

function version(option: string, v: string): string {
    const r = resolveVersion(v);
    if (!r.ok) usage(`${option} ${v}: ${r.accepted}`);
    return r.value.version;
}

function usage(problem: string): never {
    console.error(`rehearse: ${problem}\n${USAGE}`);
    process.exit(2);
}

/** The program's entry file: PATH, or PATH/index.ts for a directory. */
function entryOf(program: string): string {
    return fs.statSync(program).isDirectory() ? path.join(program, "index.ts") : program;
}

// --- Pulumi's log and the program's errors ------------------------------------------------------

/** What the preview logged ("warn: …"), which the up does not print again. */
const previewed = new Set<string>();
let phase: "preview" | "up" = "preview";
/** Rejections no one handled while the program ran (a failed check in an Output's apply fails a preview so). */
const programErrors: string[] = [];

/** Pulumi's log messages: the preview's in the plan, indented; the up's as Pulumi prints them, unless the preview showed them. */
function captureLog(): void {
    const log = pulumi.log as any;
    for (const [severity, print] of [["info", console.log], ["warn", console.warn]] as const) {
        log[severity] = (message: string) => {
            const key = `${severity}: ${message}`;
            if (phase === "preview") {
                previewed.add(key);
                console.log(`  ${severity === "warn" ? "warning" : "info"}: ${message.split("\n").join("\n    ")}`);
            } else if (!previewed.has(key)) print(`${severity === "warn" ? "warning" : "info"}: ${message}`);
            return Promise.resolve();
        };
    }
    process.on("unhandledRejection", e => {
        const message = e instanceof Error ? e.message : String(e);
        if (!programErrors.includes(message)) programErrors.push(message);
    });
}

// --- running the program ------------------------------------------------------------------------

interface Run { project: string; stack: string; entry: string; dir: string }

/** Until the program has registered everything and no step is running; a failed step lets the others end, as the engine does. */
async function finished(runtime: MockRuntime, running: () => boolean): Promise<void> {
    let last = -1;
    for (let quiet = 0; quiet < 15;) {
        await new Promise(r => setTimeout(r, 200));
        await settle();
        quiet = runtime.registrations.length === last && !running() ? quiet + 1 : 0;
        last = runtime.registrations.length;
    }
}

/** Runs the program once under `runtime` with this config; the errors it failed with (its evaluation's, its resources', its rejected Outputs'). */
async function evaluate(run: Run, runtime: MockRuntime, values: Record<string, unknown>, running: () => boolean = () => false): Promise<string[]> {
    programErrors.length = 0;
    pulumi.runtime.setAllConfig(asPulumiConfig(run.project, values), [`${run.project}:sshPrivateKey`]);
    for (const key of Object.keys(require.cache)) if (key.startsWith(`${run.dir}${path.sep}`) && !key.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[key];
    try {
        require(run.entry);
    } catch (e) {
        return [(e as Error).message];
    }
    await finished(runtime, running);
    return [...new Set([...runtime.failures.map(f => f.message), ...programErrors])];
}

/** What a preview registered and the errors it failed with. */
interface Preview { registrations: Registration[]; errors: string[] }

async function preview(run: Run, values: Record<string, unknown>, state: EngineState): Promise<Preview> {
    phase = "preview";
    const runtime = await new MockRuntime(undefined, state).start({ preview: true, project: run.project, stack: run.stack });
    const errors = await evaluate(run, runtime, values);
    return { registrations: [...runtime.registrations], errors };
}

const DEPLOYED_VERSIONS = /-deployed-versions$/;
const isRecord = (r: Registration) => r.type === "pulumi:index:Stash" && DEPLOYED_VERSIONS.test(r.name);

/** An engine state in which each Cluster of a preview has been deployed: its record of the deployed versions, so that the next preview checks an upgrade from them. */
function deployedState(p: Preview): EngineState {
    return new Map(p.registrations.filter(isRecord).map(r => [`${r.type}::${r.name}`, { inputs: JSON.stringify(r.inputs), outputs: { input: r.inputs.input, output: r.inputs.input } }]));
}

function printPlan(p: Preview, verb: string): void {
    const commands = p.registrations.filter(r => r.type === "command:remote:Command");
    const hosts = new Set(commands.map(r => r.inputs.connection?.host));
    console.log(`  plan: ${p.registrations.filter(r => r.custom).length} resources, ${commands.length} steps on ${hosts.size} hosts`);
    for (const r of p.registrations.filter(isRecord)) {
        const v = r.inputs.input ?? {};
        console.log(`  ${r.name.replace(DEPLOYED_VERSIONS, "")} ${verb} Kubernetes ${v.kubernetesVersion}, etcd ${v.etcd}, CoreDNS ${v.coredns}`);
    }
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


// --- what ran, and its health -------------------------------------------------------------------

interface Failure { step: string; host?: string; message: string }

/** The steps that failed (their host and what it printed), then any other failure of the program. */
function failuresOf(runs: CommandRun[], errors: string[], hosts: LabHostSpec[]): Failure[] {
    const failed = runs.filter(r => r.error !== undefined);
    const steps: Failure[] = failed.map(f => ({ step: f.name, host: hosts.find(h => h.address === f.host)?.name, message: brief(f.error!).trim() }));
    for (const e of errors) {
        const resource = /^failed to register new resource (\S+) /.exec(e)?.[1];
        if (resource && failed.some(f => f.name === resource)) continue;
        steps.push({ step: resource ?? "(program)", message: brief(e).trim() });
    }
    return steps;
}

function etcdHealth(lab: Lab, members: LabHostSpec[]): { healthy: boolean; members: string[]; detail: string } {
    const pki = lab.path(members[0].name, "/etc/kubernetes/pki/etcd");
    const etcdctl = (...args: string[]) => spawnSync(realEtcdctl(), [
        `--endpoints=${members.map(m => `https://${m.address}:2379`).join(",")}`, `--cacert=${pki}/ca.crt`,
        `--cert=${pki}/healthcheck-client.crt`, `--key=${pki}/healthcheck-client.key`, "--command-timeout=5s", ...args,
    ], { encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 30_000 });
    const health = etcdctl("endpoint", "health");
    const list = etcdctl("member", "list", "-w", "json");
    let names: string[] = [];
    try { names = (JSON.parse(list.stdout).members ?? []).map((m: any) => `${m.name}${m.isLearner ? " (learner)" : ""}`).sort(); } catch { /* reported below */ }
    return { healthy: health.status === 0, members: names, detail: `${health.stdout}${health.stderr}`.trim() };
}

/** A control plane's kube-apiserver serving certificate (at its manifest's address and port), verified against the cluster CA. */
function servingCertificate(lab: Lab, host: LabHostSpec): Promise<string> {
    const manifest = fs.readFileSync(lab.path(host.name, APISERVER_MANIFEST), "utf8");
    const flag = (name: string) => new RegExp(`--${name}=([^\\s"']+)`).exec(manifest)?.[1];
    const caFile = lab.path(host.name, `${flag("client-ca-file") ? flag("client-ca-file") : "/etc/kubernetes/pki/ca.crt"}`);
    if (!fs.existsSync(caFile)) return Promise.resolve(`not verified: no cluster CA at ${caFile}`);
    const ca = fs.readFileSync(caFile);
    return new Promise(resolve => {
        const s = tls.connect({ host: flag("advertise-address") ?? host.address, port: Number(flag("secure-port") ?? 6443), ca, servername: undefined, timeout: 5000 }, () => {
            const cert = s.getPeerCertificate();
            s.end();
            resolve(`verified (CN=${cert.subject.CN}, ${cert.subjectaltname})`);
        });
        s.on("error", e => resolve(`not verified: ${e.message}`));
        s.on("timeout", () => { s.destroy(); resolve("not verified: timed out"); });
    });
}

/** The health of what ran: etcd if a host runs it, each HAProxy the steps configured, each kube-apiserver a step wrote. */
async function healthOf(lab: Lab, hosts: LabHostSpec[], placed: Map<string, string[]>): Promise<Record<string, any>> {
    const health: Record<string, any> = {};
    const has = (h: LabHostSpec, file: string) => fs.existsSync(lab.path(h.name, file));
    const members = hosts.filter(h => has(h, ETCD_MANIFEST));
    if (members.length) health.etcd = etcdHealth(lab, members);
    const balancers = hosts.filter(h => placed.get(h.name)!.includes(HAPROXY_CONFIG));
    if (balancers.length) health.loadBalancers = Object.fromEntries(await Promise.all(balancers.map(async h => [h.name, await haproxyBackends(lab, h.name)])));
    const apiServers = hosts.filter(h => has(h, APISERVER_MANIFEST));
    if (apiServers.length) health.servingCertificates = Object.fromEntries(await Promise.all(apiServers.map(async h => [h.name, await servingCertificate(lab, h)])));
    return health;
}

function printHealth(health: Record<string, any>): boolean {
    let healthy = true;
    if (health.etcd) {
        console.log(`\netcd: ${health.etcd.healthy ? "healthy" : "NOT healthy"}, members ${health.etcd.members.join(", ") || "(none)"}`);
        healthy &&= health.etcd.healthy;
    }
    for (const [lb, backends] of Object.entries<Record<string, string>>(health.loadBalancers ?? {})) {
        console.log(`load balancer (${lb}, ${HAPROXY_BACKEND}): ${Object.entries(backends).map(([s, st]) => `${s} ${st}`).join(", ")}`);
        healthy &&= Object.keys(backends).length > 0 && Object.values(backends).every(s => s === "UP");
    }
    for (const [cp, v] of Object.entries<string>(health.servingCertificates ?? {})) {
        console.log(`serving certificate ${cp}: ${v}`);
        healthy &&= v.startsWith("verified");
    }
    return healthy;
}

function keepFiles(lab: Lab, dir: string, host: string, placed: string[]): void {
    const copy = (p: string) => {
        const from = lab.path(host, p);
        if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, host, p), { recursive: true, dereference: false, errorOnExist: false });
    };
    for (const p of KEPT_PATHS) copy(p);
    for (const p of placed) if (!KEPT_PATHS.some(d => p.startsWith(`${d}/`))) copy(p);
}

// --- the rehearsal ------------------------------------------------------------------------------

async function main(): Promise<number> {
    const o = parseArgs(process.argv.slice(2));
    if (process.getuid?.() !== 0) usage("the lab needs root (namespaces, sshd, overlay mounts); run it as root");
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.on(sig, () => {
            if (interrupted) return;
            interrupted = true;
            console.error(`rehearse: ${sig}: stopping every lab process`);
            void stopLab().then(() => process.exit(130));
        });
    }

    const entry = entryOf(o.program ?? path.join(ROOT, "examples/ha-cluster/index.ts"));
    const dir = path.dirname(entry);
    let config: StackConfig;
    let shape: Shape;
    try {
        // The default rehearsal is the HA example in its shape; its Pulumi.example.yaml names a CNI manifest you download.
        config = o.program ? readStackConfig(dir, o.stack) : { ...readStackConfig(dir), file: undefined, values: {} };
        const named = o.program ? shapeOf(config) : undefined;
        if (named && o.workers !== undefined) usage(`--workers sizes the HA example's shape; ${config.file} names the hosts (${named.hosts.length})`);
        shape = named ?? defaultShape(o.workers ?? 2);
    } catch (e) {
        if (e instanceof RehearsalConfigError) usage(e.message);
        throw e;
    }
    const hosts = labHosts(shape.hosts.map(h => h.name));
    const run: Run = { project: config.project, stack: config.stack, entry, dir };
    console.log(`rehearse: ${entry} in ${shape.source}`);

    const problems = typeCheckProgram(entry, LIBRARY);
    if (problems.length) {
        for (const p of problems) console.error(p);
        console.error(`rehearse: ${entry} does not type-check (${problems.length} error${problems.length > 1 ? "s" : ""}); no host was started`);
        return 1;
    }
    useTypeScriptPrograms(LIBRARY);
    captureLog();
    // As the Pulumi CLI runs a program: in its directory (relative paths in its config are read from there).
    process.chdir(dir);
    const stackVersion = typeof config.values.kubernetesVersion === "string" ? config.values.kubernetesVersion : undefined;
    const from = o.upgradeTo ? o.from ?? stackVersion ?? DEFAULT_VERSION : undefined;
    const labValues = (privateKey: string, kubernetesVersion?: string) => {
        try {
            return labStackConfig(config, shape, hosts, { port: SSH_PORT, privateKey }, kubernetesVersion);
        } catch (e) {
            if (e instanceof RehearsalConfigError) usage(e.message);
            throw e;
        }
    };

    // The plan: a preview of the first run and of the upgrade (against the first one's recorded versions), before any host runs anything.
    const previewKey = crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    console.log(`\nrehearse: preview${from ? ` at ${from}` : ""}`);
    const first = await preview(run, labValues(previewKey, from), new Map());
    printPlan(first, "installs");
    if (first.errors.length) return refused(first.errors);
    if (o.upgradeTo) {
        console.log(`\nrehearse: preview of the upgrade ${from} → ${o.upgradeTo}`);
        const next = await preview(run, labValues(previewKey, o.upgradeTo), deployedState(first));
        printPlan(next, "goes to");
        if (next.errors.length) return refused(next.errors);
    }
    const deployedVersion = first.registrations.find(isRecord)?.inputs.input?.kubernetesVersion;

    console.log(`\nrehearse: starting ${hosts.length} lab hosts (${hosts.map(h => `${h.name} ${h.address}`).join(", ")})`);
    const started = Date.now();
    phase = "up";
    lab = await Lab.start(hosts, { sshPort: SSH_PORT, tlsBootstrap: true, ...(from ?? deployedVersion ? { kubeletVersion: from ?? deployedVersion } : {}) });
    console.log(`rehearse: lab ${lab.stateDir} up; deploying`);
    const runner = new LabCommandRunner(lab);
    const running = () => runner.runs.some(r => r.durationMs === 0 && r.exitCode === null && r.error === undefined);
    // The engine's state between the two runs: the same keys and certificates, the recorded versions.
    const state: EngineState = new Map();
    const deploy = async (kubernetesVersion: string | undefined) => {
        const runtime = await new MockRuntime(runner.handle, state).start({ project: run.project, stack: run.stack });
        return evaluate(run, runtime, labValues(lab!.privateKey, kubernetesVersion), running);
    };
    let errors = await deploy(from);
    let upgrade: { from: string; to: string; timeline: ReturnType<typeof timeline> } | undefined;
    /** Every step of both runs: the files on a host are what either placed (a step that finds its file as it wants it places nothing). */
    const allRuns = runner.runs;
    /** The steps the report shows: the last run's. */
    let runs = allRuns;
    if (o.upgradeTo && !errors.length && !runner.runs.some(r => r.error !== undefined)) {
        console.log(`rehearse: deployed ${from} in ${Math.round((Date.now() - started) / 1000)} s; upgrading to ${o.upgradeTo}`);
        const firstRun = runner.runs.length;
        errors = await deploy(o.upgradeTo);
        upgrade = { from: from!, to: o.upgradeTo, timeline: timeline(allRuns.slice(firstRun), hosts) };
        runs = allRuns.slice(firstRun);
    }
    if (interrupted) return 130;

    const failed = failuresOf(runs, errors, hosts);
    const placed = new Map(hosts.map(h => [h.name, [...new Set(allRuns.filter(r => r.host === h.address).flatMap(filesOf))].sort()]));
    const report: any = { program: entry, config: config.file ?? null, lab: lab.stateDir, seconds: Math.round((Date.now() - started) / 100) / 10, hosts: {}, health: {}, failed };
    for (const h of hosts) {
        const own = runs.filter(r => r.host === h.address);
        report.hosts[h.name] = {
            address: h.address,
            roles: shape.hosts.find(s => s.name === h.name)!.roles,
            steps: own.map(r => ({ step: r.name, seconds: Math.round(r.durationMs / 100) / 10, exitCode: r.exitCode, ...(r.error ? { error: r.error.split("\n").slice(-3).join("\n") } : {}) })),
            files: placed.get(h.name),
        };
    }
    report.health = await healthOf(lab, hosts, placed);

    for (const [name, h] of Object.entries<any>(report.hosts)) {
        console.log(`\n${name} (${h.address})`);
        for (const s of h.steps) console.log(`  ${s.exitCode === 0 ? "ok  " : "FAIL"} ${s.step.padEnd(44)} ${String(s.seconds).padStart(6)} s`);
        console.log(`  files: ${h.files.length ? h.files.join(", ") : "none"}`);
    }
    const healthy = printHealth(report.health);
    if (upgrade) {
        report.upgrade = upgrade;
        console.log(`\nupgrade ${upgrade.from} → ${upgrade.to}, timeline:`);
        for (const e of upgrade.timeline) console.log(`  ${e.at}  ${e.host.padEnd(10)} ${e.event}${e.on !== e.host ? ` (on ${e.on})` : ""}`);
    }

    if (o.keep) {
        fs.mkdirSync(o.keep, { recursive: true });
        for (const h of hosts) keepFiles(lab, o.keep, h.name, placed.get(h.name)!);
        fs.writeFileSync(path.join(o.keep, "report.json"), JSON.stringify(report, null, 2) + "\n");
        if (upgrade) fs.writeFileSync(path.join(o.keep, "timeline.json"), JSON.stringify(upgrade.timeline, null, 2) + "\n");
        console.log(`\nkept each host's files under ${o.keep}/<host>/ and the report as ${o.keep}/report.json`);
    }
    if (failed.length) {
        for (const f of failed) console.error(`\nrehearse: ${f.host ? `step ${f.step} on ${f.host}` : f.step} failed:\n${f.message}`);
        return 1;
    }
    if (!healthy) {
        console.error("\nrehearse: every step succeeded but the cluster is not healthy (see above)");
        return 1;
    }
    console.log(`\nrehearse: ${runs.length} steps on ${hosts.length} hosts succeeded in ${report.seconds} s`);
    return 0;
}

/** The preview failed: say why, and that nothing ran. */
function refused(errors: string[]): number {
    for (const e of errors) console.error(`rehearse: preview failed: ${brief(e)}`);
    console.error("rehearse: no host was started");
    return 1;
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
    if (!interrupted) console.error(`rehearse: ${brief((e as Error).message ?? String(e))}`);
    await stopLab();
    process.exit(interrupted ? 130 : 1);
});
