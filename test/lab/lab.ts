/**
 * The test lab: Linux hosts made of namespaces on this machine, each with a real OpenSSH server,
 * a systemctl stand-in and a kubelet stand-in that runs static pods as host processes.
 *
 * A lab host is a mount + UTS + PID namespace (`unshare --mount --uts --pid --fork --mount-proc
 * --propagation private`) whose PID 1 is a small holder process (host-init.sh). Inside it:
 *   - its own hostname (the node name) and /etc/hosts naming every lab host;
 *   - overlays on /etc, /usr, /var and /opt (writes stay on the host; the machine's files are the
 *     read-only lower layer), a private tmpfs /run, private /tmp and /root;
 *   - per-host directories of the state dir bound over /etc/kubernetes, /var/lib/etcd,
 *     /var/lib/kubelet, /etc/systemd/system, /etc/default and /var/lib/lab (the stand-ins' records);
 *   - test/lab/bin mounted read-only over /usr/local/sbin, so `systemctl` and `kubelet` are the
 *     stand-ins (and `mv`, the real one unless a test asks it to cut the SSH session after a move); the kubelet and kubeadm packages' unit files in /usr/lib/systemd/system;
 *   - sshd, started with nsenter into the holder's namespaces, listening on <address>:<sshPort>.
 * Hosts share the machine's network namespace: each listens on its own 127.x.y.z address, and
 * 127.0.0.1 in static pod args becomes the host's private loopback address (localhostOf).
 *
 * Every process the lab starts is in some host's PID namespace, except `unshare` itself (a child of
 * this process). stop() kills each holder by pid (the kernel then kills its whole namespace) and
 * checks that every pid it saw is gone. Should this process die without stop(), the holders see
 * their lifeline (a socket from this process) close and exit; an 'exit' handler kills them too.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { HAPROXY_BACKEND, HAPROXY_SOCKET } from "../../render/haproxy";
import { etcdctl, etcdVersions, kubernetesFull, realTool, toolsCache } from "../../scripts/real-tools";

export interface LabHostSpec {
    name: string;
    /** An address in 127.0.0.0/8, unique per host: sshd and the host's pods listen there. */
    address: string;
    /** The host's private stand-in for 127.0.0.1 (default: the address with its second octet + 1). */
    localhost?: string;
}

export interface PodStatus {
    name: string;
    /** running | exited | not-runnable | rejected */
    state: string;
    /** The pid inside the host's PID namespace (see Lab.machinePid). */
    pid?: number;
    /** What runs: the resolved binary, then its arguments as given to it. */
    command?: string[];
    manifestSha256?: string;
    restarts: number;
    reason?: string;
    unknownFlags?: string[];
    /** Translations made in the args: loopback, e.g. {"127.0.0.1": "127.1.1.11"}; "bind-address" added to a real kube-apiserver. */
    translated?: Record<string, string>;
    /** What a stand-in runs in the pod's place (kube-apiserver's health endpoints), when not the real binary. */
    standIn?: string;
    exitCode?: number;
    startedAt?: string;
    /** The manifest file. */
    manifest?: string;
}

export interface LabOptions {
    /** sshd's port on every host (default 2222). */
    sshPort?: number;
    /** Where the lab keeps its files (default: a new directory under /tmp). Must not be under /etc, /usr, /var or /opt. */
    stateDir?: string;
    /** What `kubelet --version` prints (default 1.33.2). */
    kubeletVersion?: string;
    /** Install the kubelet and kubeadm packages' systemd units (kubelet.service, 10-kubeadm.conf). Default true. */
    kubeletPackage?: boolean;
    /** A socket node where the container runtime's socket would be (nothing answers), or false. Default /run/containerd/containerd.sock. */
    criSocket?: string | false;
    /** How long to wait for each sshd (default 15 s). */
    timeoutMs?: number;
    /** The kubelet stand-in writes --kubeconfig from --bootstrap-kubeconfig, as a kubelet whose CSR was approved (default false). */
    tlsBootstrap?: boolean;
    /**
     * The control-plane images are the real kube-apiserver, kube-controller-manager and
     * kube-scheduler of the releases built in full (KUBERNETES_FULL), so their static pods run for
     * real; other releases' kube-apiserver is the health stand-in. Default false: the stand-in for all.
     */
    realControlPlane?: boolean;
}

export interface ExecResult { code: number; stdout: string; stderr: string }

/** A process seen in a lab host: its pid on the machine and inside the host. */
export interface LabProcess { pid: number; nsPid: number; start: string; command: string }

/** test/lab in the checkout (its scripts and stand-ins), also when this file runs compiled elsewhere (.tools/). */
const LAB_DIR = fs.existsSync(path.join(__dirname, "host-init.sh")) ? __dirname : path.resolve(__dirname, "../../../test/lab");
const REPO_DIR = path.resolve(LAB_DIR, "..", "..");
const BIN_DIR = path.join(LAB_DIR, "bin");
const HOST_INIT = path.join(LAB_DIR, "host-init.sh");
/** Host paths kept in the state dir (hosts/<name>/fs/<path>), where path() finds them. */
export const BOUND_PATHS = ["/etc/kubernetes", "/var/lib/etcd", "/var/lib/kubelet", "/etc/systemd/system", "/etc/default", "/var/lib/lab", "/root", "/tmp"];
const OVERLAID = ["/etc", "/usr", "/var", "/opt"];
const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const KUBELET_SERVICE = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

const KUBEADM_DROPIN = `# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;

interface HostState {
    spec: Required<LabHostSpec>;
    dir: string;
    unshare?: ChildProcess;
    unsharePid?: number;
    unshareStart?: string;
    holderPid?: number;
    holderStart?: string;
    pidNs?: string;
    /** Every process seen in the host, by machine pid (for stop()'s check). */
    seen: Map<number, LabProcess>;
}

const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms));

// --- /proc -------------------------------------------------------------------------------------

/** The start time (clock ticks since boot) of a live, non-zombie process; undefined if gone. */
export function processStart(pid: number): string | undefined {
    let stat: string;
    try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
        return undefined;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return fields[19];
}

function parentOf(pid: number): number | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
        return undefined;
    }
}

function pidNsOf(pid: number): string | undefined {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
        return undefined;
    }
}

/** Processes in a PID namespace, with their pids on the machine and inside it. */
function processesIn(pidNs: string): LabProcess[] {
    const out: LabProcess[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        const pid = Number(entry);
        if (pidNsOf(pid) !== pidNs) continue;
        const start = processStart(pid);
        if (start === undefined) continue;
        let nsPid = pid;
        let command = "";
        try {
            const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
            const m = /^NSpid:\s*(.*)$/m.exec(status);
            if (m) nsPid = Number(m[1].trim().split(/\s+/).pop());
            command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
        } catch {
            continue;
        }
        out.push({ pid, nsPid, start, command });
    }
    return out;
}

function killQuietly(pid: number | undefined, signal: NodeJS.Signals): void {
    if (!pid) return;
    try {
        process.kill(pid, signal);
    } catch { /* gone */ }
}

// --- helpers -----------------------------------------------------------------------------------

function isLoopbackV4(a: string): boolean {
    return net.isIPv4(a) && a.split(".")[0] === "127";
}

function defaultLocalhost(address: string): string {
    const o = address.split(".").map(Number);
    return `127.${(o[1] + 1) % 256}.${o[2]}.${o[3]}`;
}

function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env, cwd: opts.cwd });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", d => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", d => (stderr += d));
        const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
        child.on("error", err => {
            if (timer) clearTimeout(timer);
            reject(err);
        });
        child.on("close", (code, signal) => {
            if (timer) clearTimeout(timer);
            resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
        });
        child.stdin.on("error", () => { /* the command did not read it */ });
        child.stdin.end(opts.input ?? "");
    });
}

async function mustRun(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    const r = await run(cmd, args, opts);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr || r.stdout}`);
    return r.stdout;
}

/** Whether something accepts TCP connections on address:port, and its first bytes. */
function probe(address: string, port: number, timeoutMs = 1000): Promise<{ open: boolean; banner: string }> {
    return new Promise(resolve => {
        const sock = net.connect({ host: address, port });
        let banner = "";
        let open = false;
        const done = () => {
            sock.destroy();
            resolve({ open, banner });
        };
        sock.setTimeout(timeoutMs, done);
        sock.on("connect", () => (open = true));
        sock.on("data", d => {
            banner += d.toString("latin1");
            if (banner.includes("\n")) done();
        });
        sock.on("error", done);
        sock.on("close", done);
    });
}

// --- cleanup when this process ends ------------------------------------------------------------

const liveLabs = new Set<Lab>();
let exitHookInstalled = false;
function installExitHook(): void {
    if (exitHookInstalled) return;
    exitHookInstalled = true;
    process.on("exit", () => {
        for (const lab of liveLabs) lab.killNow();
    });
}

// --- the lab -----------------------------------------------------------------------------------

/** The sshd key types each lab host has: ssh-keygen's -t names. */
const LAB_HOST_KEY_TYPES = ["ecdsa", "ed25519"];

export class Lab {
    readonly hosts: LabHostSpec[];
    readonly privateKey: string;
    private readonly byName = new Map<string, HostState>();
    private stopping?: Promise<void>;
    private stopped = false;

    private constructor(readonly stateDir: string, readonly sshPort: number, hosts: HostState[], privateKey: string) {
        this.hosts = hosts.map(h => ({ ...h.spec }));
        for (const h of hosts) this.byName.set(h.spec.name, h);
        this.privateKey = privateKey;
    }

    /** Starts the hosts; resolves once every sshd accepts connections. */
    static async start(hosts: LabHostSpec[], opts: LabOptions = {}): Promise<Lab> {
        const sshPort = opts.sshPort ?? 2222;
        const specs = validate(hosts);
        const stateDir = await prepareStateDir(opts.stateDir);
        for (const h of specs) {
            const p = await probe(h.address, sshPort, 300);
            if (p.open) throw new Error(`${h.address}:${sshPort} already accepts connections (another lab?): pick other addresses or ports`);
        }

        const key = path.join(stateDir, "client_ed25519");
        await mustRun("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "pulumi-kubeadm-lab", "-f", key]);
        const privateKey = fs.readFileSync(key, "utf8");
        linkImages(stateDir, opts.realControlPlane === true);
        const states: HostState[] = specs.map(spec => ({ spec, dir: path.join(stateDir, "hosts", spec.name), seen: new Map() }));
        const lab = new Lab(stateDir, sshPort, states, privateKey);
        liveLabs.add(lab);
        installExitHook();
        try {
            await Promise.all(states.map(h => lab.prepareHost(h, opts)));
            lab.saveRecord();
            await Promise.all(states.map(h => lab.startHost(h, specs, opts)));
            lab.saveRecord();
            await Promise.all(states.map(h => lab.startSshd(h.spec.name, opts.timeoutMs)));
            lab.saveRecord();
        } catch (e) {
            await lab.stop().catch(() => undefined);
            throw e;
        }
        return lab;
    }

    /** The cluster's API objects the stand-ins share (Nodes, Pods, PodDisruptionBudgets): the same directory on every host. */
    get clusterDir(): string {
        return path.join(this.stateDir, "cluster");
    }

    private host(name: string): HostState {
        const h = this.byName.get(name);
        if (!h) throw new Error(`no lab host named ${name} (hosts: ${[...this.byName.keys()].join(", ")})`);
        return h;
    }

    private async prepareHost(h: HostState, opts: LabOptions): Promise<void> {
        const { dir, spec } = h;
        for (const p of BOUND_PATHS) fs.mkdirSync(path.join(dir, "fs", p), { recursive: true });
        fs.mkdirSync(this.clusterDir, { recursive: true });
        fs.chmodSync(path.join(dir, "fs", "tmp"), 0o1777);
        fs.chmodSync(path.join(dir, "fs", "root"), 0o700);
        fs.chmodSync(path.join(dir, "fs", "var/lib/etcd"), 0o700);
        const labDir = path.join(dir, "fs", "var/lib/lab");
        fs.mkdirSync(path.join(labDir, "pods"), { recursive: true });
        fs.writeFileSync(path.join(labDir, "lab.env"), [
            `LAB_NODE_NAME=${spec.name}`,
            `LAB_ADDRESS=${spec.address}`,
            `LAB_LOCALHOST=${spec.localhost}`,
            `LAB_DIR=${LAB_DIR}`,
            `LAB_NODE=${process.execPath}`,
            `LAB_KUBELET_VERSION=${(opts.kubeletVersion ?? "1.33.2").replace(/^v/, "")}`,
            `LAB_CLUSTER_DIR=${this.clusterDir}`,
            `LAB_TLS_BOOTSTRAP=${opts.tlsBootstrap ? 1 : 0}`,
            `LAB_IMAGES=${path.join(this.stateDir, "images")}`,
            "",
        ].join("\n"));
        // The real etcd client tools (built by scripts/real-tools.sh) are the host's, as an etcd package would install them.
        const usrBin = path.join(dir, "overlay", "usr", "upper", "bin");
        fs.mkdirSync(usrBin, { recursive: true });
        for (const tool of ["etcdctl", "etcdutl"]) fs.symlinkSync(path.join(path.dirname(etcdctl()), tool), path.join(usrBin, tool));
        if (opts.kubeletPackage !== false) {
            // What the kubelet and kubeadm packages (pkgs.k8s.io) install, in the host's /usr.
            const upper = path.join(dir, "overlay", "usr", "upper");
            fs.mkdirSync(path.join(upper, "lib/systemd/system/kubelet.service.d"), { recursive: true });
            fs.writeFileSync(path.join(upper, "lib/systemd/system/kubelet.service"), KUBELET_SERVICE);
            fs.writeFileSync(path.join(upper, "lib/systemd/system/kubelet.service.d/10-kubeadm.conf"), KUBEADM_DROPIN);
            fs.mkdirSync(path.join(upper, "bin"), { recursive: true });
            fs.symlinkSync("/usr/local/sbin/kubelet", path.join(upper, "bin", "kubelet"));
        }

        const sshd = path.join(dir, "sshd");
        fs.mkdirSync(sshd, { recursive: true });
        await this.makeHostKeys(sshd, spec.name);
        fs.writeFileSync(path.join(sshd, "sshd_config"), [
            `# sshd of lab host ${spec.name}`,
            `ListenAddress ${spec.address}:${this.sshPort}`,
            "AddressFamily inet",
            ...LAB_HOST_KEY_TYPES.map(t => `HostKey ${path.join(sshd, `ssh_host_${t}_key`)}`),
            `PidFile ${path.join(sshd, "sshd.pid")}`,
            `AuthorizedKeysFile ${path.join(this.stateDir, "client_ed25519.pub")}`,
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "AllowTcpForwarding yes",
            "MaxStartups 200",
            "MaxSessions 100",
            "LogLevel INFO",
            "Subsystem sftp internal-sftp",
            "",
        ].join("\n"));
    }

    private async startHost(h: HostState, all: Required<LabHostSpec>[], opts: LabOptions): Promise<void> {
        const log = fs.openSync(path.join(h.dir, "host.log"), "a");
        const env: NodeJS.ProcessEnv = {
            PATH: HOST_PATH,
            LANG: "C.UTF-8",
            LAB_STATE_DIR: this.stateDir,
            LAB_NODE_NAME: h.spec.name,
            LAB_BIN_DIR: BIN_DIR,
            LAB_KEEP: `${REPO_DIR}:${toolsCache()}`,
            LAB_HOSTS: all.map(x => `${x.address} ${x.name}`).join("\n"),
            LAB_CRI_SOCKET: opts.criSocket === false ? "" : (opts.criSocket ?? "/run/containerd/containerd.sock"),
        };
        const child = spawn("unshare", ["--mount", "--uts", "--pid", "--fork", "--mount-proc", "--propagation", "private", "/bin/bash", HOST_INIT], {
            cwd: "/", env, detached: true, stdio: ["ignore", log, log, "pipe"],
        });
        fs.closeSync(log);
        h.unshare = child;
        h.unsharePid = child.pid;
        h.unshareStart = child.pid ? processStart(child.pid) : undefined;
        let exited: string | undefined;
        child.on("exit", (code, signal) => (exited = `exited (${code ?? signal})`));
        child.on("error", err => (exited = err.message));
        // The lifeline stays open as long as this process lives; no need to keep Node running for it.
        const lifeline = child.stdio[3] as net.Socket | null;
        lifeline?.on("error", () => undefined);
        lifeline?.unref();
        child.unref();

        const ready = path.join(h.dir, "ready");
        const deadline = Date.now() + (opts.timeoutMs ?? 15000);
        while (!fs.existsSync(ready)) {
            if (exited || Date.now() > deadline) {
                const out = fs.readFileSync(path.join(h.dir, "host.log"), "utf8");
                throw new Error(`lab host ${h.spec.name} did not start: unshare ${exited ?? "timed out"}\n${out}`);
            }
            await sleep(20);
        }
        for (let i = 0; i < 100 && !h.holderPid; i++) {
            h.holderPid = fs.readdirSync("/proc").filter(e => /^\d+$/.test(e)).map(Number).find(p => parentOf(p) === child.pid);
            if (!h.holderPid) await sleep(10);
        }
        if (!h.holderPid) throw new Error(`lab host ${h.spec.name}: no holder process under unshare ${child.pid}`);
        h.holderStart = processStart(h.holderPid);
        h.pidNs = pidNsOf(h.holderPid);
        if (!h.pidNs || h.pidNs === pidNsOf(process.pid)) throw new Error(`lab host ${h.spec.name}: the holder is not in its own PID namespace`);
        this.observe(h);
    }

    private saveRecord(): void {
        const record = {
            owner: process.pid,
            hosts: [...this.byName.values()].map(h => ({
                name: h.spec.name, unsharePid: h.unsharePid, unshareStart: h.unshareStart, holderPid: h.holderPid, holderStart: h.holderStart,
            })),
        };
        fs.writeFileSync(path.join(this.stateDir, "lab.json"), JSON.stringify(record, null, 2) + "\n");
    }

    /** Remembers every process now in the host (stop() checks each is gone). */
    private observe(h: HostState): LabProcess[] {
        if (!h.pidNs || !h.holderPid || processStart(h.holderPid) !== h.holderStart) return [];
        const procs = processesIn(h.pidNs);
        for (const p of procs) h.seen.set(p.pid, p);
        return procs;
    }

    /** Processes running in a host now. */
    processes(host: string): LabProcess[] {
        return this.observe(this.host(host));
    }

    /** Every machine pid the lab has seen (holders, unshare, sshd, kubelet, pods, sessions). */
    knownPids(): { pid: number; start: string; command: string }[] {
        const out: { pid: number; start: string; command: string }[] = [];
        for (const h of this.byName.values()) {
            this.observe(h);
            if (h.unsharePid && h.unshareStart) out.push({ pid: h.unsharePid, start: h.unshareStart, command: "unshare" });
            for (const p of h.seen.values()) out.push(p);
        }
        return out;
    }

    /** The machine pid of a pid inside a host (e.g. a PodStatus pid), if it runs. */
    machinePid(host: string, nsPid: number): number | undefined {
        return this.processes(host).find(p => p.nsPid === nsPid)?.pid;
    }

    /** The real path on this machine behind a host's path. */
    path(host: string, hostPath: string): string {
        const h = this.host(host);
        if (!hostPath.startsWith("/")) throw new Error(`path: ${hostPath} is not absolute`);
        const p = path.posix.normalize(hostPath);
        for (const b of [...BOUND_PATHS].sort((a, c) => c.length - a.length)) {
            if (p === b || p.startsWith(`${b}/`)) return path.join(h.dir, "fs", p);
        }
        if (!h.holderPid) throw new Error(`lab host ${host} is not running`);
        return `/proc/${h.holderPid}/root${p}`;
    }

    localhostOf(host: string): string {
        return this.host(host).spec.localhost;
    }

    addressOf(host: string): string {
        return this.host(host).spec.address;
    }

    private running(h: HostState): void {
        if (this.stopped || !h.holderPid || processStart(h.holderPid) !== h.holderStart) {
            throw new Error(`lab host ${h.spec.name} is not running`);
        }
    }

    private nsenter(h: HostState, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
        this.running(h);
        const env: NodeJS.ProcessEnv = { PATH: HOST_PATH, HOME: "/root", USER: "root", LOGNAME: "root", SHELL: "/bin/bash", LANG: "C.UTF-8" };
        return run("nsenter", ["--target", String(h.holderPid), "--mount", "--uts", "--pid", "--wdns=/root", "--", ...argv], {
            input: opts.input, env, cwd: "/", timeoutMs: opts.timeoutMs,
        });
    }

    /** Runs a bash script inside the host's namespaces (not over ssh), as root in /root. */
    async exec(host: string, script: string, stdin?: string, timeoutMs = 60000): Promise<ExecResult> {
        const h = this.host(host);
        const r = await this.nsenter(h, ["/bin/bash", "-c", script], { input: stdin, timeoutMs });
        this.observe(h);
        return r;
    }

    private sshdPid(h: HostState): number | undefined {
        let nsPid: number;
        try {
            nsPid = Number(fs.readFileSync(path.join(h.dir, "sshd", "sshd.pid"), "utf8").trim());
        } catch {
            return undefined;
        }
        if (!nsPid || !h.pidNs) return undefined;
        return processesIn(h.pidNs).find(p => p.nsPid === nsPid && /sshd/.test(p.command))?.pid;
    }

    /** A host's sshd keys: ECDSA and Ed25519, as a Debian host has (its RSA key left out: slow to make). */
    private async makeHostKeys(sshd: string, name: string): Promise<void> {
        for (const t of LAB_HOST_KEY_TYPES) {
            const file = path.join(sshd, `ssh_host_${t}_key`);
            fs.rmSync(file, { force: true });
            fs.rmSync(`${file}.pub`, { force: true });
            await mustRun("ssh-keygen", ["-q", "-t", t, "-N", "", "-C", `${name}-host`, "-f", file]);
        }
    }

    /** The host's public keys as `ssh-keyscan -p <sshPort> <address>` prints them (known_hosts lines): what ssh.hostKey takes. */
    knownHosts(host: string): string {
        const h = this.host(host);
        return LAB_HOST_KEY_TYPES.map(t => {
            const [type, blob] = fs.readFileSync(path.join(h.dir, "sshd", `ssh_host_${t}_key.pub`), "utf8").trim().split(/\s+/);
            return `[${h.spec.address}]:${this.sshPort} ${type} ${blob}`;
        }).join("\n");
    }

    /** Gives the host new sshd keys (a reinstalled host, or another machine at its address) and restarts its sshd. */
    async replaceHostKeys(host: string): Promise<void> {
        const h = this.host(host);
        await this.stopSshd(host);
        await this.makeHostKeys(path.join(h.dir, "sshd"), h.spec.name);
        await this.startSshd(host);
    }

    /** Starts the host's sshd (nothing if it runs); resolves once it accepts connections. */
    async startSshd(host: string, timeoutMs = 15000): Promise<void> {
        const h = this.host(host);
        this.running(h);
        const { address } = h.spec;
        if (this.sshdPid(h) !== undefined && (await probe(address, this.sshPort)).open) return;
        const dir = path.join(h.dir, "sshd");
        const r = await this.nsenter(h, ["/usr/sbin/sshd", "-f", path.join(dir, "sshd_config"), "-E", path.join(dir, "sshd.log")], { timeoutMs });
        if (r.code !== 0) {
            throw new Error(`sshd of ${host} did not start (${r.code}): ${r.stderr}${fs.existsSync(path.join(dir, "sshd.log")) ? fs.readFileSync(path.join(dir, "sshd.log"), "utf8") : ""}`);
        }
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const p = await probe(address, this.sshPort);
            if (p.open && p.banner.startsWith("SSH-2.0-")) break;
            if (Date.now() > deadline) throw new Error(`sshd of ${host} does not answer on ${address}:${this.sshPort}`);
            await sleep(50);
        }
        this.observe(h);
    }

    /** Stops the host's sshd by its pid; resolves once the port refuses connections. Open sessions stay, as with a real sshd. */
    async stopSshd(host: string): Promise<void> {
        const h = this.host(host);
        this.observe(h);
        const pid = this.sshdPid(h);
        if (pid !== undefined) {
            const start = processStart(pid);
            killQuietly(pid, "SIGTERM");
            for (let i = 0; i < 100 && processStart(pid) === start && start !== undefined; i++) await sleep(50);
            if (processStart(pid) === start && start !== undefined) killQuietly(pid, "SIGKILL");
        }
        for (let i = 0; i < 100; i++) {
            if (!(await probe(h.spec.address, this.sshPort, 300)).open) return;
            await sleep(50);
        }
        throw new Error(`sshd of ${host} still answers on ${h.spec.address}:${this.sshPort}`);
    }

    private readLab(host: string, file: string): string {
        try {
            return fs.readFileSync(path.join(this.host(host).dir, "fs", "var/lib/lab", file), "utf8");
        } catch {
            return "";
        }
    }

    /**
     * The next mv on the host whose destination is `target` cuts the SSH session it runs in, right
     * after the file is in place (test/lab/bin/mv): sshd's session process and the remote command die.
     */
    cutSshAfterMove(host: string, target: string): void {
        fs.writeFileSync(path.join(this.host(host).dir, "fs", "var/lib/lab", "cut-ssh-after-mv"), target);
    }

    /** The sessions test/lab/bin/mv cut on a host, one line each. */
    sshCuts(host: string): string[] {
        return this.readLab(host, "cuts.log").split("\n").filter(Boolean);
    }

    /** The systemctl stand-in's calls on a host, in order: their arguments, e.g. "enable --now kubelet". */
    systemctlCalls(host: string): string[] {
        return this.readLab(host, "systemctl.log").split("\n").filter(Boolean).map(l => l.slice(l.indexOf("\t") + 1));
    }

    /** The kubelet stand-in's view of the host's static pods, by pod name (metadata.name). */
    pods(host: string): Record<string, PodStatus> {
        const dir = path.join(this.host(host).dir, "fs", "var/lib/lab/pods");
        const out: Record<string, PodStatus> = {};
        let names: string[] = [];
        try {
            names = fs.readdirSync(dir).filter(f => f.endsWith(".json"));
        } catch {
            return out;
        }
        for (const f of names) {
            try {
                const s = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
                delete s.procStart;
                out[s.name] = s;
            } catch { /* being replaced */ }
        }
        return out;
    }

    /** What the kubelet stand-in was started with: {pid, args, configFile, staticPodPath, state, ...}. */
    kubelet(host: string): Record<string, any> | undefined {
        const text = this.readLab(host, "kubelet.json");
        return text ? JSON.parse(text) : undefined;
    }

    kubeletLog(host: string): string {
        return this.readLab(host, "kubelet.log");
    }

    podLog(host: string, pod: string): string {
        return this.readLab(host, `pods/${pod}.log`);
    }

    /**
     * Waits until a pod is in a state (for "running": its process is alive); `where` narrows it
     * (e.g. a new manifest hash). Fails with the kubelet's and the pod's log.
     */
    async waitForPod(host: string, pod: string, state: string, timeoutMs = 20000, where?: (s: PodStatus) => boolean): Promise<PodStatus> {
        const deadline = Date.now() + timeoutMs;
        let last: PodStatus | undefined;
        for (;;) {
            last = this.pods(host)[pod];
            if (last && last.state === state && (!where || where(last))) {
                if (state !== "running" || (last.pid !== undefined && this.machinePid(host, last.pid) !== undefined)) return last;
            }
            if (Date.now() > deadline) {
                throw new Error(`pod ${pod} on ${host} is not ${state} after ${timeoutMs} ms: ${JSON.stringify(last)}\n`
                    + `--- kubelet.log\n${this.kubeletLog(host).split("\n").slice(-20).join("\n")}\n--- ${pod}.log\n${this.podLog(host, pod).split("\n").slice(-20).join("\n")}`);
            }
            await sleep(100);
        }
    }

    /** Kills every process by pid (synchronously; for the 'exit' hook). */
    killNow(): void {
        for (const h of this.byName.values()) {
            if (h.holderPid && processStart(h.holderPid) === h.holderStart) killQuietly(h.holderPid, "SIGKILL");
            if (h.unsharePid && processStart(h.unsharePid) === h.unshareStart) killQuietly(h.unsharePid, "SIGKILL");
        }
    }

    /** Kills every process by pid, checks they are gone, removes the state dir. Safe to call again. */
    stop(opts: { keepStateDir?: boolean } = {}): Promise<void> {
        if (!this.stopping) this.stopping = this.doStop(opts);
        return this.stopping;
    }

    private async doStop(opts: { keepStateDir?: boolean }): Promise<void> {
        const pids = this.knownPids();
        this.stopped = true;
        for (const h of this.byName.values()) {
            // The holder is PID 1 of the host: when it dies the kernel kills everything in the namespace.
            if (h.holderPid && processStart(h.holderPid) === h.holderStart) killQuietly(h.holderPid, "SIGKILL");
        }
        const deadline = Date.now() + 10000;
        let left = pids.filter(p => processStart(p.pid) === p.start);
        while (left.length > 0 && Date.now() < deadline) {
            await sleep(50);
            for (const h of this.byName.values()) {
                if (h.unsharePid && processStart(h.unsharePid) === h.unshareStart && !(h.holderPid && processStart(h.holderPid) === h.holderStart)) {
                    killQuietly(h.unsharePid, "SIGKILL");
                }
            }
            left = pids.filter(p => processStart(p.pid) === p.start);
        }
        for (const h of this.byName.values()) {
            // Anything that entered a namespace after the last look is gone with it; check anyway.
            if (h.pidNs) for (const p of processesIn(h.pidNs)) left.push(p);
        }
        liveLabs.delete(this);
        if (left.length > 0) {
            throw new Error(`lab: processes still running after stop: ${left.map(p => `${p.pid} (${p.command})`).join(", ")}`);
        }
        if (!opts.keepStateDir) fs.rmSync(this.stateDir, { recursive: true, force: true });
    }
}

function validate(hosts: LabHostSpec[]): Required<LabHostSpec>[] {
    if (hosts.length === 0) throw new Error("a lab needs at least one host");
    const specs = hosts.map(h => ({ name: h.name, address: h.address, localhost: h.localhost ?? defaultLocalhost(h.address) }));
    const used = new Map<string, string>();
    for (const h of specs) {
        if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(h.name)) throw new Error(`lab host name ${JSON.stringify(h.name)}: a DNS label (lowercase letters, digits, '-')`);
        for (const [what, a] of [["address", h.address], ["localhost", h.localhost]] as const) {
            if (!isLoopbackV4(a)) throw new Error(`lab host ${h.name}: ${what} ${a} is not in 127.0.0.0/8 (the lab never targets other addresses)`);
            if (a === "127.0.0.1") throw new Error(`lab host ${h.name}: ${what} 127.0.0.1 is the machine's own; pick another 127.x.y.z`);
            const other = used.get(a);
            if (other) throw new Error(`lab host ${h.name}: ${what} ${a} is already used by ${other}`);
            used.set(a, `${h.name} (${what})`);
        }
    }
    if (new Set(specs.map(h => h.name)).size !== specs.length) throw new Error("lab host names must be unique");
    return specs;
}

const STATE_PREFIX = "pulumi-kubeadm-lab-";

/**
 * State dirs of labs whose test process was killed (their hosts exited with it, through the
 * lifeline): stop whatever they recorded that still runs, by pid, and remove them. Only our own
 * directories: the prefix, a lab.json, and an owner process that is gone.
 */
async function sweepStale(base: string): Promise<void> {
    let entries: string[] = [];
    try {
        entries = fs.readdirSync(base).filter(e => e.startsWith(STATE_PREFIX));
    } catch {
        return;
    }
    for (const e of entries) {
        const dir = path.join(base, e);
        const record = path.join(dir, "lab.json");
        let owner: number | undefined;
        try {
            owner = JSON.parse(fs.readFileSync(record, "utf8")).owner;
        } catch {
            continue;
        }
        if (!owner || processStart(owner) !== undefined) continue;
        await killRecorded(record);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function prepareStateDir(dir?: string): Promise<string> {
    let abs: string;
    if (!dir) {
        const base = OVERLAID.some(o => os.tmpdir() === o || os.tmpdir().startsWith(`${o}/`)) ? "/tmp" : os.tmpdir();
        await sweepStale(base);
        abs = fs.mkdtempSync(path.join(base, STATE_PREFIX));
    } else {
        abs = path.resolve(dir);
        if (OVERLAID.some(o => abs === o || abs.startsWith(`${o}/`)) || abs === "/") {
            throw new Error(`lab state dir ${abs}: must not be / or under ${OVERLAID.join(", ")} (lab hosts overlay those)`);
        }
        for (const other of liveLabs) if (other.stateDir === abs) await other.stop();
        if (fs.existsSync(abs)) {
            const entries = fs.readdirSync(abs);
            if (entries.length > 0 && !entries.includes("lab.json")) throw new Error(`lab state dir ${abs} exists and is not a lab's (no lab.json); refusing to reuse it`);
            if (entries.includes("lab.json")) {
                const owner = (() => {
                    try {
                        return Number(JSON.parse(fs.readFileSync(path.join(abs, "lab.json"), "utf8")).owner);
                    } catch {
                        return 0;
                    }
                })();
                if (owner && owner !== process.pid && processStart(owner) !== undefined) {
                    throw new Error(`lab state dir ${abs} belongs to a lab of process ${owner}, which still runs`);
                }
                // A lab that was not stopped (its test process was killed): stop its processes by pid.
                await killRecorded(path.join(abs, "lab.json"));
            }
            fs.rmSync(abs, { recursive: true, force: true });
        }
        fs.mkdirSync(abs, { recursive: true, mode: 0o700 });
    }
    fs.writeFileSync(path.join(abs, "lab.json"), JSON.stringify({ owner: process.pid, hosts: [] }, null, 2) + "\n");
    return abs;
}

async function killRecorded(file: string): Promise<void> {
    let record: any;
    try {
        record = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
        return;
    }
    const targets: { pid: number; start: string }[] = [];
    for (const h of record.hosts ?? []) {
        if (h.holderPid && h.holderStart) targets.push({ pid: h.holderPid, start: h.holderStart });
        if (h.unsharePid && h.unshareStart) targets.push({ pid: h.unsharePid, start: h.unshareStart });
    }
    for (const t of targets) if (processStart(t.pid) === t.start) killQuietly(t.pid, "SIGKILL");
    for (let i = 0; i < 200 && targets.some(t => processStart(t.pid) === t.start); i++) await sleep(50);
}

/**
 * Lab hosts at random addresses 127.0.<r>.<b+i> (r in 100..249, b in 11, 31, ..., 231; up to 20
 * hosts), so labs of test files running side by side do not meet. Their localhost stand-ins are
 * 127.1.<r>.<b+i>.
 */
export function labHosts(names: string[]): LabHostSpec[] {
    if (names.length > 20) throw new Error("labHosts: at most 20 hosts");
    const r = 100 + crypto.randomInt(150);
    const b = 11 + 20 * crypto.randomInt(12);
    return names.map((name, i) => ({ name, address: `127.0.${r}.${b + i}` }));
}

/** HAProxy's view of the API servers on a load-balancer host (its admin socket): server name → status (UP, DOWN, MAINT, …). */
export function haproxyBackends(lab: Lab, lb: string): Promise<{ [server: string]: string }> {
    return new Promise(resolve => {
        const socket = net.createConnection(lab.path(lb, HAPROXY_SOCKET));
        let out = "";
        socket.on("connect", () => socket.end("show stat\n"));
        socket.on("data", d => { out += d; });
        socket.on("error", e => resolve({ error: e.message }));
        socket.on("close", () => {
            const rows = out.split("\n").filter(l => l.startsWith(`${HAPROXY_BACKEND},`)).map(l => l.split(","));
            resolve(Object.fromEntries(rows.filter(r => r[1] !== "BACKEND").map(r => [r[1], r[17]])));
        });
    });
}

/**
 * The images the lab's kubelet runs: <stateDir>/images/<name>/<tag> is the directory of that
 * image's binaries, real ones built by scripts/real-tools.sh (etcd: one per pinned release, tagged
 * as kubeadm tags etcd's images, "3.7.0-0"; with realControlPlane, kube-apiserver,
 * kube-controller-manager and kube-scheduler of each release built in full, tagged "v1.37.2"). A
 * pinned tool that is not built stops the lab.
 */
export const CONTROL_PLANE_IMAGES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
function linkImages(stateDir: string, controlPlane: boolean): void {
    const etcd = path.join(stateDir, "images", "etcd");
    fs.mkdirSync(etcd, { recursive: true });
    for (const v of etcdVersions()) {
        fs.symlinkSync(path.dirname(realTool(`etcd-${v}`, "etcd")), path.join(etcd, `${v.replace(/^v/, "")}-0`));
    }
    if (!controlPlane) return;
    for (const image of CONTROL_PLANE_IMAGES) {
        fs.mkdirSync(path.join(stateDir, "images", image), { recursive: true });
        for (const v of kubernetesFull()) fs.symlinkSync(path.dirname(realTool(`kubernetes-${v}`, image)), path.join(stateDir, "images", image, v));
    }
}

/** The lab's hosts share this machine's cgroups: v1 when /sys/fs/cgroup is not cgroup2 and has a memory hierarchy (as kubeadm's CgroupsValidator reads it). */
export function cgroupsV1(): boolean {
    const mounts = fs.readFileSync("/proc/mounts", "utf8");
    const mount = mounts.split("\n").map(l => l.split(" ")).find(f => f[1] === "/sys/fs/cgroup");
    if (!mount) return !/ cgroup2 /.test(mounts);
    return mount[2] === "tmpfs" ? fs.existsSync("/sys/fs/cgroup/memory") : mount[2] !== "cgroup2";
}
