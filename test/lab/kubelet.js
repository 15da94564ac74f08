#!/usr/bin/env node
// Lab stand-in for the kubelet (test/lab; started through test/lab/bin/kubelet, normally by the
// systemctl stand-in). It does what matters of a kubelet for static pods, with host processes in
// place of containers:
//
//   - `kubelet --version` prints "Kubernetes v<version>" (LAB_KUBELET_VERSION, default 1.33.2).
//   - Reads --config=<KubeletConfiguration> (staticPodPath, default /etc/kubernetes/manifests) or
//     --pod-manifest-path, then polls the static pod directory every 500 ms.
//   - Each manifest (*.yaml, *.yml, *.json; a Pod with one container): when command[0] is a binary
//     on this machine, it runs that binary with the manifest's command and args (hostNetwork and
//     hostPath keep paths and addresses as they are). Every --flag is checked against the binary's
//     --help first; a flag it does not know rejects the pod loudly (state "rejected",
//     unknownFlags, an error line in the kubelet log). A binary that is not here: "not-runnable".
//     An image the lab has builds of (LAB_IMAGES/<name>/<tag>: etcd) runs that build's binary, so a
//     manifest's etcd:3.7.0-0 runs the real etcd 3.7.0; a tag the lab lacks is "not-runnable".
//   - Loopback: lab hosts share the machine's network namespace, so 127.0.0.1 (and localhost:PORT)
//     in args becomes the host's private loopback address, LAB_LOCALHOST; the mapping is recorded.
//   - Status of each pod in /var/lib/lab/pods/<name>.json, output in /var/lib/lab/pods/<name>.log.
//     A changed manifest (sha256) replaces the process, a removed one stops it, a process that
//     exits is restarted with a backoff (0.5 s doubling to 5 s) and counted in `restarts`.
//   - Stopping the kubelet leaves its pods running (as with a real kubelet); a new kubelet adopts them.
"use strict";

const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const cp = require("child_process");
const yaml = require("js-yaml");

const LAB = process.env.LAB_STATE || "/var/lib/lab";
const PODS = path.join(LAB, "pods");
const DEFAULT_MANIFESTS = "/etc/kubernetes/manifests";
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const POLL_MS = 500;
const STOP_GRACE_MS = 5000;

function labEnv() {
    const out = {};
    try {
        for (const line of fs.readFileSync(path.join(LAB, "lab.env"), "utf8").split("\n")) {
            const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
            if (m) out[m[1]] = m[2];
        }
    } catch { /* not a lab host */ }
    return out;
}

const ENV = { ...labEnv(), ...process.env };
const VERSION = String(ENV.LAB_KUBELET_VERSION || "1.33.2").replace(/^v/, "");
const LOCALHOST = ENV.LAB_LOCALHOST || "";
const NODE_NAME = ENV.LAB_NODE_NAME || safe(() => fs.readFileSync("/proc/sys/kernel/hostname", "utf8").trim(), "lab");

function safe(f, dflt) {
    try { return f(); } catch { return dflt; }
}

function log(level, msg) {
    const d = new Date();
    const p2 = n => String(n).padStart(2, "0");
    const stamp = `${p2(d.getMonth() + 1)}${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}000`;
    process.stdout.write(`${level}${stamp} ${String(process.pid).padStart(7)} kubelet.js] ${msg}\n`);
}

function writeJson(file, value) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
    fs.renameSync(tmp, file);
}

// --- arguments -------------------------------------------------------------------------------

const argv = process.argv.slice(2);
function flag(name) {
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === `--${name}` || a === `-${name}`) {
            const next = argv[i + 1];
            return next !== undefined && !next.startsWith("-") ? next : "true";
        }
        if (a.startsWith(`--${name}=`) || a.startsWith(`-${name}=`)) return a.slice(a.indexOf("=") + 1);
    }
    return undefined;
}

const versionFlag = flag("version");
if (versionFlag !== undefined && versionFlag !== "false") {
    process.stdout.write(`Kubernetes v${VERSION}\n`);
    process.exit(0);
}
if (flag("help") !== undefined || flag("h") !== undefined) {
    process.stdout.write(`kubelet (lab stand-in for Kubernetes v${VERSION}): runs static pods as host processes.

Usage:
  kubelet [flags]

Flags:
      --config string               The Kubelet will load its initial configuration from this file (staticPodPath)
      --pod-manifest-path string    Path to the directory containing static pod files to run
      --version version[=true]      Print version information and quit
`);
    process.exit(0);
}

// --- processes -------------------------------------------------------------------------------

/** The start time of a live (not zombie) process, or undefined when it is gone. */
function procStart(pid) {
    if (!pid) return undefined;
    const stat = safe(() => fs.readFileSync(`/proc/${pid}/stat`, "utf8"), undefined);
    if (!stat) return undefined;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return fields[19];
}

function alive(rec) {
    return rec.pid !== undefined && procStart(rec.pid) !== undefined && procStart(rec.pid) === rec.procStart;
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

function signal(pid, sig) {
    try { process.kill(-pid, sig); } catch { safe(() => process.kill(pid, sig)); }
}

// --- static pods -----------------------------------------------------------------------------

const helpCache = new Map();

/** The flag names a binary's --help lists (lines that start with a dash), or undefined if none. */
function knownFlags(bin) {
    const mtime = safe(() => fs.statSync(bin).mtimeMs, 0);
    const key = `${bin}@${mtime}`;
    if (helpCache.has(key)) return helpCache.get(key);
    const r = cp.spawnSync(bin, ["--help"], { encoding: "utf8", timeout: 10000, env: { PATH: SYSTEM_PATH } });
    const text = `${r.stdout || ""}\n${r.stderr || ""}`;
    const names = new Set();
    for (const line of text.split("\n")) {
        if (!/^\s*-/.test(line)) continue;
        for (const m of line.matchAll(/(?:^|[\s,])--?([A-Za-z0-9][A-Za-z0-9_.-]*)/g)) names.add(m[1]);
    }
    const result = names.size > 0 ? names : undefined;
    helpCache.set(key, result);
    return result;
}

/**
 * The lab's "images": LAB_IMAGES/<name>/<tag> holds the binaries of that image (real builds of the
 * pinned tools), as a container runtime would pull it. undefined for an image name the lab has no
 * builds of (its command is looked up on the machine); {dir: undefined} for a tag it lacks.
 */
function imageDir(image) {
    const root = ENV.LAB_IMAGES;
    const m = /^(?:.*\/)?([^/:@]+)(?::([^/@]+))?(?:@.*)?$/.exec(String(image || ""));
    if (!root || !m) return undefined;
    const [, name, tag = "latest"] = m;
    const dir = path.join(root, name);
    let tags;
    try { tags = fs.readdirSync(dir).sort(); } catch { return undefined; }
    return { name, tag, tags, dir: tags.includes(tag) ? path.join(dir, tag) : undefined };
}

function resolveBinary(cmd) {
    const candidates = cmd.includes("/") ? [cmd] : SYSTEM_PATH.split(":").map(d => path.join(d, cmd));
    for (const c of candidates) {
        try {
            const st = fs.statSync(c);
            if (st.isFile()) {
                fs.accessSync(c, fs.constants.X_OK);
                return c;
            }
        } catch { /* next */ }
    }
    return undefined;
}

/** Kubernetes' $(VAR) expansion in command and args from the container's env; $$ escapes. */
function expandVars(s, env) {
    return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => {
        if (m === "$$") return "$";
        return Object.prototype.hasOwnProperty.call(env, name) ? env[name] : m;
    });
}

function translateLoopback(args, translated) {
    if (!LOCALHOST) return args;
    return args.map(a => {
        let out = a;
        if (out.includes("127.0.0.1")) {
            out = out.split("127.0.0.1").join(LOCALHOST);
            translated["127.0.0.1"] = LOCALHOST;
        }
        if (/(^|[/=,@\s])localhost:\d/.test(out)) {
            out = out.replace(/(^|[/=,@\s])localhost(?=:\d)/g, `$1${LOCALHOST}`);
            translated.localhost = LOCALHOST;
        }
        return out;
    });
}

/**
 * What to do with a manifest: `{run: {bin, args, env, cwd, translated}}` or
 * `{state: "rejected" | "not-runnable", reason, unknownFlags?}`.
 */
function plan(pod) {
    if (!pod || typeof pod !== "object") return { state: "rejected", reason: "the manifest is not an object" };
    if (pod.kind !== "Pod") return { state: "rejected", reason: `not a Pod (kind ${JSON.stringify(pod.kind)})` };
    const spec = pod.spec || {};
    const containers = spec.containers || [];
    if (containers.length !== 1) {
        return { state: "not-runnable", reason: `the lab runs single-container pods; this one has ${containers.length} containers` };
    }
    if ((spec.initContainers || []).length > 0) {
        return { state: "not-runnable", reason: "the lab does not run initContainers" };
    }
    const c = containers[0];
    const env = {};
    for (const e of c.env || []) {
        if (e.valueFrom !== undefined) {
            return { state: "not-runnable", reason: `env ${e.name} uses valueFrom, which the lab does not resolve` };
        }
        env[e.name] = expandVars(String(e.value ?? ""), env);
    }
    if (c.envFrom !== undefined) return { state: "not-runnable", reason: "the lab does not resolve envFrom" };
    const command = (c.command || []).map(String);
    if (command.length === 0) {
        return { state: "not-runnable", reason: `no command: the entrypoint of the image ${c.image} is not on this machine` };
    }
    const image = imageDir(c.image);
    if (image && !image.dir) {
        return { state: "not-runnable", reason: `image ${c.image}: the lab has ${image.name} ${image.tags.join(", ") || "in no version"}, not ${image.tag} (the lab's images are the real tools of tools/versions.env: bash scripts/real-tools.sh)` };
    }
    const bin = image ? resolveBinary(path.join(image.dir, path.basename(command[0]))) : resolveBinary(command[0]);
    if (!bin && command[0] === "kube-apiserver") return apiServerStandIn(command.slice(1), c);
    if (!bin && image) {
        return { state: "not-runnable", reason: `${command[0]}: not in the image ${c.image} (${image.dir})` };
    }
    if (!bin) {
        return { state: "not-runnable", reason: `${command[0]}: no such binary on this machine (the lab does not run images; image ${c.image})` };
    }
    const args = [...command.slice(1), ...(c.args || []).map(String)].map(a => expandVars(a, env));
    const known = knownFlags(bin);
    if (known) {
        const unknown = [];
        for (const a of args) {
            if (a === "--") break;
            const m = /^--?([A-Za-z][A-Za-z0-9_.-]*)/.exec(a);
            if (m && !known.has(m[1])) unknown.push(a.split("=")[0]);
        }
        if (unknown.length > 0) {
            return {
                state: "rejected", unknownFlags: unknown,
                reason: `${bin} does not know ${unknown.join(", ")} (checked against \`${path.basename(bin)} --help\`)`,
            };
        }
    } else {
        log("W", `static pod ${pod.metadata && pod.metadata.name}: ${bin} --help lists no flags; its flags are not checked`);
    }
    const outside = outsideLoopback(args);
    if (outside) return outside;
    const translated = {};
    const runArgs = translateLoopback(sharedNetwork(bin, args, translated), translated);
    return {
        run: {
            bin, args: runArgs, translated, cwd: c.workingDir || "/", namespace: (pod.metadata && pod.metadata.namespace) || "default", container: c.name || "main",
            env: { PATH: SYSTEM_PATH, HOSTNAME: NODE_NAME, ...env },
            grace: Math.min(Number(spec.terminationGracePeriodSeconds ?? 30) * 1000, STOP_GRACE_MS),
        },
    };
}

/**
 * Lab hosts share the machine's network namespace, so each host's 127.0.0.1 is its own loopback
 * address (translateLoopback). For the real kube-apiserver two flags need more: it listens on every
 * address by default (kubeadm sets no --bind-address) and would take every other host's port, so it
 * listens on its --advertise-address; and it verifies etcd's serving certificate, whose SANs are the
 * host's address and 127.0.0.1 but not the lab's loopback address, so --etcd-servers at 127.0.0.1
 * go to the host's address, where stacked etcd listens too. And it refuses a loopback advertise
 * address for the `kubernetes` Service's endpoints (every lab address is one), so the lab turns
 * that reconciler off (--endpoint-reconciler-type=none). Each is recorded in `translated`.
 */
function sharedNetwork(bin, args, translated) {
    if (path.basename(bin) !== "kube-apiserver") return args;
    const flag = name => args.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    const advertised = flag("advertise-address");
    const address = ENV.LAB_ADDRESS || advertised;
    const out = args.map(a => {
        if (!address || !a.startsWith("--etcd-servers=") || !a.includes("://127.0.0.1:")) return a;
        translated["etcd-servers"] = address;
        return a.split("://127.0.0.1:").join(`://${address}:`);
    });
    if (advertised && flag("bind-address") === undefined) {
        translated["bind-address"] = advertised;
        out.push(`--bind-address=${advertised}`);
    }
    if (advertised?.startsWith("127.") && flag("endpoint-reconciler-type") === undefined) {
        translated["endpoint-reconciler-type"] = "none";
        out.push("--endpoint-reconciler-type=none");
    }
    return out;
}

/** The lab never targets addresses outside 127.0.0.0/8: a URL to any other IPv4 address rejects the pod. */
function outsideLoopback(args) {
    for (const a of args) {
        for (const m of a.matchAll(/:\/\/(\d{1,3}(?:\.\d{1,3}){3})(?=[:/]|$)/g)) {
            if (!m[1].startsWith("127.") && m[1] !== "0.0.0.0") {
                return { state: "rejected", reason: `${a.split("=")[0]} names ${m[1]}, outside 127.0.0.0/8: lab hosts use 127.x.y.z addresses` };
            }
        }
    }
    return undefined;
}

/**
 * kube-apiserver is not on this machine: its health endpoints are served by apiserver-health.js
 * with the manifest's flags (serving certificate, address, port, etcd client flags).
 */
function apiServerStandIn(args, c) {
    const outside = outsideLoopback(args);
    if (outside) return outside;
    const translated = {};
    return {
        run: {
            bin: process.execPath, args: [path.join(__dirname, "apiserver-health.js"), ...translateLoopback(args, translated)], translated,
            cwd: "/", env: { PATH: SYSTEM_PATH, HOSTNAME: NODE_NAME, LAB_LOCALHOST: LOCALHOST, LAB_IMAGE: String(c.image || ""), LAB_CLUSTER_DIR: ENV.LAB_CLUSTER_DIR || "" }, grace: STOP_GRACE_MS,
            standIn: `kube-apiserver health endpoints (image ${c.image})`,
        },
    };
}

/**
 * Where a real kubelet keeps a container's log, /var/log/pods/<namespace>_<pod>-<node>_<uid>/<container>/<n>.log
 * (what the readiness gate shows of a kube-apiserver that does not come up): a link to the lab's log of the pod.
 */
function linkPodLog(rec, logFile) {
    const r = rec.plan.run;
    if (!r.container) return;
    const dir = path.join("/var/log/pods", `${r.namespace}_${rec.name}-${NODE_NAME}_lab`, r.container);
    try {
        fs.mkdirSync(dir, { recursive: true });
        if (!fs.existsSync(path.join(dir, "0.log"))) fs.symlinkSync(logFile, path.join(dir, "0.log"));
    } catch (e) {
        log("W", `static pod ${rec.name}: cannot link its log under ${dir}: ${e.message}`);
    }
}

/** name -> { name, file, sha, plan, status, child, pid, procStart, nextStartAt, stopping } */
const pods = new Map();

function statusFile(name) { return path.join(PODS, `${name}.json`); }

function publish(rec) {
    const s = rec.status;
    writeJson(statusFile(rec.name), { ...s, pid: s.state === "running" ? rec.pid : s.pid, procStart: rec.procStart, manifest: rec.file });
}

function start(rec) {
    const r = rec.plan.run;
    const logFile = path.join(PODS, `${rec.name}.log`);
    fs.appendFileSync(logFile, `--- lab kubelet: starting ${[r.bin, ...r.args].join(" ")} (${new Date().toISOString()})\n`);
    linkPodLog(rec, logFile);
    const fd = fs.openSync(logFile, "a");
    let child;
    try {
        child = cp.spawn(r.bin, r.args, { detached: true, stdio: ["ignore", fd, fd], cwd: r.cwd, env: r.env });
    } finally {
        fs.closeSync(fd);
    }
    rec.child = child;
    rec.stopping = false;
    rec.pid = child.pid;
    rec.procStart = procStart(child.pid);
    child.on("error", err => {
        if (rec.child !== child) return;
        log("E", `static pod ${rec.name}: could not start ${r.bin}: ${err.message}`);
        exited(rec, undefined, undefined, err.message);
    });
    child.on("exit", (code, sig) => {
        if (rec.child !== child || rec.stopping) return;
        exited(rec, code, sig);
    });
    rec.status = {
        name: rec.name, state: "running", pid: child.pid, command: [r.bin, ...r.args], manifestSha256: rec.sha,
        restarts: rec.status ? rec.status.restarts : 0, translated: Object.keys(r.translated).length ? r.translated : undefined,
        standIn: r.standIn, startedAt: new Date().toISOString(),
    };
    log("I", `static pod ${rec.name}: started pid ${child.pid}: ${[r.bin, ...r.args].join(" ")}`);
    publish(rec);
}

function exited(rec, code, sig, reason) {
    if (rec.status.state !== "running") return;
    rec.child = undefined;
    const backoff = Math.min(500 * 2 ** rec.status.restarts, 5000);
    rec.nextStartAt = Date.now() + backoff;
    rec.status = {
        ...rec.status, state: "exited", exitCode: code ?? undefined, signal: sig ?? undefined,
        reason: reason || (sig ? `killed by ${sig}` : `exited with status ${code}`), finishedAt: new Date().toISOString(),
    };
    log("E", `static pod ${rec.name}: pid ${rec.pid} ${rec.status.reason}; restarting in ${backoff} ms (see ${path.join(PODS, rec.name + ".log")})`);
    publish(rec);
}

async function stop(rec) {
    rec.stopping = true;
    if (rec.pid !== undefined && alive(rec)) {
        const grace = rec.plan && rec.plan.run ? rec.plan.run.grace : STOP_GRACE_MS;
        signal(rec.pid, "SIGTERM");
        const until = Date.now() + grace;
        while (alive(rec) && Date.now() < until) await sleep(50);
        if (alive(rec)) signal(rec.pid, "SIGKILL");
        const hard = Date.now() + 5000;
        while (alive(rec) && Date.now() < hard) await sleep(50);
        log("I", `static pod ${rec.name}: stopped pid ${rec.pid}`);
    }
    rec.child = undefined;
}

function readManifests(dir) {
    let names;
    try {
        names = fs.readdirSync(dir);
    } catch (e) {
        if (e.code !== "ENOENT") log("E", `reading ${dir}: ${e.message}`);
        return new Map();
    }
    const found = new Map();
    for (const f of names.sort()) {
        if (f.startsWith(".") || !/\.(ya?ml|json)$/.test(f)) continue;
        const file = path.join(dir, f);
        let text;
        try {
            if (!fs.statSync(file).isFile()) continue;
            text = fs.readFileSync(file, "utf8");
        } catch { continue; }
        const sha = crypto.createHash("sha256").update(text).digest("hex");
        let pod;
        let planned;
        try {
            pod = f.endsWith(".json") ? JSON.parse(text) : yaml.load(text);
            planned = undefined;
        } catch (e) {
            planned = { state: "rejected", reason: `${file} does not parse: ${String(e.message).split("\n")[0]}` };
        }
        const name = String((pod && pod.metadata && pod.metadata.name) || f.replace(/\.(ya?ml|json)$/, ""));
        if (found.has(name)) {
            log("E", `static pod ${name}: ${file} repeats the name of ${found.get(name).file}; ignoring it`);
            continue;
        }
        found.set(name, { name, file, sha, pod, planned });
    }
    return found;
}

async function tick(dir) {
    const desired = readManifests(dir);
    for (const [name, rec] of pods) {
        if (desired.has(name)) continue;
        await stop(rec);
        pods.delete(name);
        safe(() => fs.unlinkSync(statusFile(name)));
        log("I", `static pod ${name}: manifest removed; pod deleted`);
    }
    for (const [name, d] of desired) {
        let rec = pods.get(name);
        if (rec && rec.sha === d.sha) {
            if (rec.status.state === "running" && !alive(rec)) exited(rec, undefined, undefined, "the process is gone");
            if (rec.status.state === "exited" && Date.now() >= rec.nextStartAt) {
                if (!rec.plan.run || !rec.plan.run.bin) rec.plan = d.planned || plan(d.pod); // adopted: plan again
                if (rec.plan.run) {
                    rec.status.restarts += 1;
                    start(rec);
                } else {
                    rec.status = { name, state: rec.plan.state, manifestSha256: d.sha, restarts: rec.status.restarts, reason: rec.plan.reason, unknownFlags: rec.plan.unknownFlags };
                    publish(rec);
                }
            }
            continue;
        }
        if (rec) {
            log("I", `static pod ${name}: manifest changed (${rec.sha.slice(0, 12)} -> ${d.sha.slice(0, 12)}); replacing the pod`);
            await stop(rec);
        }
        rec = { name, file: d.file, sha: d.sha, plan: d.planned || plan(d.pod) };
        pods.set(name, rec);
        if (rec.plan.run) {
            start(rec);
        } else {
            rec.status = {
                name, state: rec.plan.state, manifestSha256: d.sha, restarts: 0, reason: rec.plan.reason,
                unknownFlags: rec.plan.unknownFlags,
            };
            log("E", `static pod ${name} (${d.file}) ${rec.plan.state === "rejected" ? "REJECTED" : "not runnable"}: ${rec.plan.reason}`);
            publish(rec);
        }
    }
}

/** Pods a previous kubelet started and that still run: kept (as a real kubelet finds its containers). */
function adopt() {
    let names = [];
    try { names = fs.readdirSync(PODS).filter(f => f.endsWith(".json")); } catch { return; }
    for (const f of names) {
        const s = safe(() => JSON.parse(fs.readFileSync(path.join(PODS, f), "utf8")), undefined);
        if (!s || s.state !== "running" || !s.pid || procStart(s.pid) !== s.procStart) continue;
        const { procStart: ps, manifest, ...status } = s;
        const rec = { name: s.name, file: manifest, sha: s.manifestSha256, pid: s.pid, procStart: ps, status, plan: { run: { grace: STOP_GRACE_MS } } };
        pods.set(s.name, rec);
        log("I", `static pod ${s.name}: found running pid ${s.pid}; adopting it`);
    }
}

function loadConfig(file) {
    const text = fs.readFileSync(file, "utf8");
    const cfg = yaml.load(text) || {};
    if (cfg.kind !== "KubeletConfiguration") log("W", `${file}: kind ${JSON.stringify(cfg.kind)}, expected KubeletConfiguration`);
    return cfg;
}

// --- the Node -----------------------------------------------------------------------------------
// With a kubeconfig (--kubeconfig exists), the kubelet reports its Node to the lab's cluster store
// (LAB_CLUSTER_DIR/nodes/<node>.status.json: its version and a heartbeat), which the kube-apiserver
// stand-in serves as the Node's status (its InternalIP: --node-ip, else LAB_LOCALHOST). With LAB_TLS_BOOTSTRAP=1 and only --bootstrap-kubeconfig,
// it writes --kubeconfig as a kubelet does once its CSR is approved (same server and CA), with its
// key and certificate in /var/lib/kubelet/pki/kubelet-client-current.pem (self-signed: the lab runs
// no kube-controller-manager to sign it).
const CLUSTER = ENV.LAB_CLUSTER_DIR || "";
// The Node's InternalIP: --node-ip's (its first address), as a real kubelet. Without it a real
// kubelet picks an address of the host itself (the first non-loopback one); the stand-in picks the
// host's other address, LAB_LOCALHOST, so that a kubelet not told its address shows it.
function nodeAddress() {
    const ip = flag("node-ip");
    return ip && ip !== "true" ? ip.split(",")[0] : LOCALHOST || ENV.LAB_ADDRESS || "";
}
let lastReport = 0;
function reportNode() {
    if (!CLUSTER || Date.now() - lastReport < 2000) return;
    lastReport = Date.now();
    const kubeconfig = flag("kubeconfig");
    const bootstrap = flag("bootstrap-kubeconfig");
    if (!kubeconfig || kubeconfig === "true") return;
    if (!fs.existsSync(kubeconfig) && ENV.LAB_TLS_BOOTSTRAP === "1" && bootstrap && fs.existsSync(bootstrap)) {
        const b = fs.readFileSync(bootstrap, "utf8");
        const server = (/server: (\S+)/.exec(b) || [])[1];
        const ca = (/certificate-authority-data: (\S+)/.exec(b) || [])[1];
        if (server && ca) {
            const certDir = flag("cert-dir");
            const pem = path.join(certDir && certDir !== "true" ? certDir : "/var/lib/kubelet/pki", "kubelet-client-current.pem");
            // The kubelet's own key and a certificate for system:node:<name> (self-signed here: nothing in the lab signs CSRs).
            fs.mkdirSync(path.dirname(pem), { recursive: true, mode: 0o755 });
            const made = cp.spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "365",
                "-subj", `/O=system:nodes/CN=system:node:${NODE_NAME}`, "-keyout", `${pem}.key.tmp`, "-out", `${pem}.crt.tmp`], { encoding: "utf8" });
            if (made.status !== 0) { log("E", `TLS bootstrap (lab): openssl failed: ${made.stderr}`); return; }
            fs.writeFileSync(`${pem}.tmp`, fs.readFileSync(`${pem}.crt.tmp`, "utf8") + fs.readFileSync(`${pem}.key.tmp`, "utf8"), { mode: 0o600 });
            for (const f of [`${pem}.crt.tmp`, `${pem}.key.tmp`]) fs.rmSync(f, { force: true });
            fs.renameSync(`${pem}.tmp`, pem);
            const tmp = `${kubeconfig}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: ${ca}\n    server: ${server}\n  name: default-cluster\ncontexts:\n- context:\n    cluster: default-cluster\n    namespace: default\n    user: default-auth\n  name: default-context\ncurrent-context: default-context\npreferences: {}\nusers:\n- name: default-auth\n  user:\n    client-certificate: ${pem}\n    client-key: ${pem}\n`, { mode: 0o600 });
            fs.renameSync(tmp, kubeconfig);
            log("I", `TLS bootstrap (lab): wrote ${kubeconfig} for ${server}`);
        }
    }
    if (!fs.existsSync(kubeconfig)) return;
    safe(() => {
        fs.mkdirSync(path.join(CLUSTER, "nodes"), { recursive: true });
        writeJson(path.join(CLUSTER, "nodes", `${NODE_NAME}.status.json`), { kubeletVersion: `v${VERSION}`, heartbeat: new Date().toISOString(), address: nodeAddress() });
    });
}

async function main() {
    fs.mkdirSync(PODS, { recursive: true });
    const info = { pid: process.pid, args: argv, version: VERSION, node: NODE_NAME, localhost: LOCALHOST || undefined, startedAt: new Date().toISOString() };
    const configFile = flag("config");
    let staticPodPath = flag("pod-manifest-path");
    writeJson(path.join(LAB, "kubelet.json"), { ...info, state: "starting", configFile });
    log("I", `lab kubelet v${VERSION} on ${NODE_NAME} starting: ${argv.join(" ")}`);

    let stopping = false;
    for (const sig of ["SIGTERM", "SIGINT"]) {
        process.on(sig, () => {
            stopping = true;
            log("I", `${sig}: stopping the kubelet (static pods keep running)`);
            safe(() => writeJson(path.join(LAB, "kubelet.json"), { ...info, state: "stopped", configFile, staticPodPath }));
            process.exit(0);
        });
    }
    process.on("SIGHUP", () => {});

    if (configFile && configFile !== "true") {
        let lastError = "";
        for (;;) {
            try {
                const cfg = loadConfig(configFile);
                if (!staticPodPath) staticPodPath = cfg.staticPodPath || DEFAULT_MANIFESTS;
                break;
            } catch (e) {
                const msg = `failed to load kubelet config file, path: ${configFile}, error: ${e.message}`;
                if (msg !== lastError) log("E", `${msg} (retrying every second, as systemd's Restart=always would)`);
                lastError = msg;
                writeJson(path.join(LAB, "kubelet.json"), { ...info, state: "waiting-for-config", configFile, error: msg });
                await sleep(1000);
            }
        }
    }
    if (!staticPodPath) staticPodPath = DEFAULT_MANIFESTS;
    writeJson(path.join(LAB, "kubelet.json"), { ...info, state: "running", configFile, staticPodPath });
    log("I", `watching static pods in ${staticPodPath}`);

    adopt();
    while (!stopping) {
        try {
            await tick(staticPodPath);
            reportNode();
        } catch (e) {
            log("E", `sync failed: ${e && e.stack || e}`);
        }
        await sleep(POLL_MS);
    }
}

main().catch(e => {
    log("E", `kubelet failed: ${e && e.stack || e}`);
    process.exit(1);
});
