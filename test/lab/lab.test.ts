/**
 * The lab itself, proven with real tools: two namespace hosts with real sshd, the systemctl and
 * kubelet stand-ins, a real etcd as a static pod, and LabCommandRunner over real ssh.
 */
import * as command from "@pulumi/command";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { MockRuntime, valueOf } from "../support/mocks";
import { etcdctl, realTool } from "../../scripts/real-tools";
import { Lab, labHosts, processStart } from "./lab";
import { LabCommandRunner } from "./runtime";

interface Result { code: number; stdout: string; stderr: string }

function runTool(cmd: string, args: string[], input?: string): Promise<Result> {
    return new Promise(resolve => {
        const child = execFile(cmd, args, { timeout: 30000 }, (err, stdout, stderr) => {
            const code = err ? (typeof (err as any).code === "number" ? (err as any).code : 1) : 0;
            resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        });
        child.stdin?.end(input ?? "");
    });
}

const HOSTS = labHosts(["etcd-1", "etcd-2"]);
const [H1, H2] = HOSTS;
let lab: Lab | undefined;
const rootSshBefore = fs.existsSync("/root/.ssh");

function theLab(): Lab {
    if (!lab) throw new Error("the lab did not start");
    return lab;
}

/** The real OpenSSH client, as an operator would use it. */
function ssh(host: { address: string }, script: string, input?: string, l: Lab = theLab()): Promise<Result> {
    return runTool("ssh", [
        "-F", "/dev/null", "-p", String(l.sshPort), "-i", path.join(l.stateDir, "client_ed25519"),
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", `root@${host.address}`, "--", script,
    ], input);
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 15000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await f();
        if (v !== undefined && v !== false) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise(r => setTimeout(r, 100));
    }
}

function etcdManifest(h: { name: string; address: string }, snapshotCount: number, extra: string[] = []): string {
    const url = (port: number) => `http://${h.address}:${port}`;
    const args = [
        "etcd", `--name=${h.name}`, "--data-dir=/var/lib/etcd",
        `--listen-client-urls=${url(2379)},http://127.0.0.1:2379`, `--advertise-client-urls=${url(2379)}`,
        `--listen-peer-urls=${url(2380)}`, `--initial-advertise-peer-urls=${url(2380)}`,
        `--initial-cluster=${h.name}=${url(2380)}`, "--initial-cluster-state=new", `--snapshot-count=${snapshotCount}`, ...extra,
    ];
    return `apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
  labels: {component: etcd, tier: control-plane}
spec:
  hostNetwork: true
  priorityClassName: system-node-critical
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.7.0-0
    command:
${args.map(a => `    - ${a}`).join("\n")}
    volumeMounts:
    - {mountPath: /var/lib/etcd, name: etcd-data}
  volumes:
  - name: etcd-data
    hostPath: {path: /var/lib/etcd, type: DirectoryOrCreate}
`;
}

function simplePod(name: string, image: string, command: string[]): string {
    return JSON.stringify({
        apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "kube-system" },
        spec: { hostNetwork: true, containers: [{ name, image, command }] },
    }, null, 2);
}

/** Writes a static pod manifest the way installers should: a temporary file, then a rename. */
function writeManifest(host: { address: string }, file: string, content: string): Promise<Result> {
    const dir = "/etc/kubernetes/manifests";
    return ssh(host, `mkdir -p ${dir} && cat >${dir}/.${file}.tmp && mv ${dir}/.${file}.tmp ${dir}/${file}`, content);
}

async function etcdHealthy(endpoint: string): Promise<Result> {
    return until(`etcd at ${endpoint} to be healthy`, async () => {
        const r = await runTool(etcdctl(), ["--endpoints", endpoint, "--dial-timeout=2s", "--command-timeout=3s", "endpoint", "health"]);
        return r.code === 0 ? r : undefined;
    }, 20000);
}

beforeAll(async () => {
    lab = await Lab.start(HOSTS);
}, 60000);

afterAll(async () => {
    await lab?.stop();
});

describe("lab hosts", () => {
    test("stand-ins and the host set-up pass shellcheck", async () => {
        const files = ["bin/systemctl", "bin/kubelet", "host-init.sh"].map(f => path.join(__dirname, f));
        const r = await runTool("shellcheck", files);
        expect(r.stdout + r.stderr).toBe("");
        expect(r.code).toBe(0);
    });

    test("each host answers ssh with its own hostname and keeps /etc/kubernetes to itself", async () => {
        const l = theLab();
        for (const h of HOSTS) {
            const r = await ssh(h, "hostname; id -u; echo $PATH; command -v systemctl kubelet");
            expect(r).toMatchObject({ code: 0, stderr: "" });
            expect(r.stdout.split("\n").slice(0, 2)).toEqual([h.name, "0"]);
            expect(r.stdout).toContain("/usr/local/sbin/systemctl\n/usr/local/sbin/kubelet");
        }
        const w = await ssh(H1, "mkdir -p /etc/kubernetes/pki && echo one >/etc/kubernetes/lab-marker && echo on-etc >/etc/lab-overlay-check");
        expect(w.code).toBe(0);
        expect(fs.readFileSync(l.path(H1.name, "/etc/kubernetes/lab-marker"), "utf8")).toBe("one\n");
        expect(fs.readFileSync(l.path(H1.name, "/etc/lab-overlay-check"), "utf8")).toBe("on-etc\n");
        expect((await ssh(H2, "test -e /etc/kubernetes/lab-marker || test -e /etc/lab-overlay-check; echo $?")).stdout).toBe("1\n");
        expect(fs.existsSync("/etc/kubernetes/lab-marker")).toBe(false);
        expect(fs.existsSync("/etc/lab-overlay-check")).toBe(false);
        expect(fs.existsSync(l.path(H2.name, "/etc/kubernetes/lab-marker"))).toBe(false);
        // exec (nsenter) sees the same host as ssh.
        expect(await l.exec(H1.name, "hostname; cat /etc/kubernetes/lab-marker")).toEqual({ code: 0, stdout: `${H1.name}\none\n`, stderr: "" });
        expect((await l.exec(H2.name, "cat", "via stdin")).stdout).toBe("via stdin");
        // The machine's own SSH files are untouched (ssh -F /dev/null does not create ~/.ssh).
        expect(fs.existsSync("/root/.ssh")).toBe(rootSshBefore);
    });

    test("systemctl enable --now kubelet starts the stand-in with the unit's drop-ins", async () => {
        const l = theLab();
        const r = await ssh(H1, `set -e
mkdir -p /etc/systemd/system/kubelet.service.d
cat >/etc/systemd/system/kubelet.service.d/kubelet.conf <<'EOF'
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: /etc/kubernetes/manifests
EOF
cat >/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/bin/kubelet --config=/etc/systemd/system/kubelet.service.d/kubelet.conf
Restart=always
EOF
systemctl daemon-reload
systemctl enable --now kubelet
systemctl is-active kubelet
kubelet --version`);
        expect(r).toMatchObject({ code: 0, stdout: "active\nKubernetes v1.33.2\n" });
        expect(l.systemctlCalls(H1.name)).toEqual(["daemon-reload", "enable --now kubelet", "is-active kubelet"]);
        const k = await until("the kubelet to run", () => (l.kubelet(H1.name)?.state === "running" ? l.kubelet(H1.name) : undefined));
        expect(k).toMatchObject({ args: ["--config=/etc/systemd/system/kubelet.service.d/kubelet.conf"], staticPodPath: "/etc/kubernetes/manifests" });
        expect(l.machinePid(H1.name, k.pid)).toBeDefined();
    });

    test("kubeadm's 10-kubeadm.conf: Environment, EnvironmentFile and $VAR expansion; unknown units; daemon-reload", async () => {
        const l = theLab();
        const r = await ssh(H2, `set -e
cat >/var/lib/kubelet/config.yaml <<'EOF'
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
EOF
echo 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10"' >/var/lib/kubelet/kubeadm-flags.env
echo 'KUBELET_EXTRA_ARGS=--node-ip=${H2.address}' >/etc/default/kubelet
systemctl start kubelet
systemctl is-enabled kubelet || true`);
        expect(r).toMatchObject({ code: 0, stdout: "disabled\n" });
        const k = await until("the kubelet to run", () => (l.kubelet(H2.name)?.state === "running" ? l.kubelet(H2.name) : undefined));
        expect(k.args).toEqual([
            "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf", "--kubeconfig=/etc/kubernetes/kubelet.conf",
            "--config=/var/lib/kubelet/config.yaml",
            "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock", "--pod-infra-container-image=registry.k8s.io/pause:3.10",
            `--node-ip=${H2.address}`,
        ]);
        expect(k.staticPodPath).toBe("/etc/kubernetes/manifests");

        const unknown = await ssh(H2, "systemctl start nginx; echo rc=$?; systemctl enable nginx; echo rc=$?");
        expect(unknown.stdout).toBe("rc=5\nrc=0\n");
        expect(unknown.stderr).toBe("Failed to start nginx.service: Unit nginx.service not found.\n");

        // A new drop-in is not seen until daemon-reload, as with systemd.
        const dropIn = "printf '[Service]\\nExecStart=\\nExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS --v=2\\n' >/etc/systemd/system/kubelet.service.d/30-lab.conf";
        const stale = await ssh(H2, `mkdir -p /etc/systemd/system/kubelet.service.d && ${dropIn} && systemctl restart kubelet`);
        expect(stale.stderr).toContain("Run 'systemctl daemon-reload' to reload units.");
        const before = await until("the restarted kubelet", () => (l.kubelet(H2.name)?.pid !== k.pid && l.kubelet(H2.name)?.state === "running" ? l.kubelet(H2.name) : undefined));
        expect(before.args).toEqual(k.args);
        expect((await ssh(H2, "systemctl daemon-reload && systemctl restart kubelet")).code).toBe(0);
        const after = await until("the reloaded kubelet", () => (l.kubelet(H2.name)?.pid !== before.pid && l.kubelet(H2.name)?.state === "running" ? l.kubelet(H2.name) : undefined));
        expect(after.args).toEqual(["--config=/var/lib/kubelet/config.yaml", "--v=2"]);
        const status = await ssh(H2, "systemctl status kubelet");
        expect(status.code).toBe(0);
        expect(status.stdout).toContain("Active: active (running)");
        expect(status.stdout).toContain("Drop-In: /etc/systemd/system/kubelet.service.d/30-lab.conf");
    });
});

describe("static pods", () => {
    let firstPid = 0;

    test("an etcd manifest runs the real etcd of its image's tag (3.7.0-0: etcd 3.7.0), with 127.0.0.1 moved to the host's own loopback address", async () => {
        const l = theLab();
        const w = await writeManifest(H1, "etcd.yaml", etcdManifest(H1, 10000));
        expect(w.code).toBe(0);
        const pod = await l.waitForPod(H1.name, "etcd", "running");
        const lh = l.localhostOf(H1.name);
        expect(lh).not.toBe(H1.address);
        expect(pod.translated).toEqual({ "127.0.0.1": lh });
        expect(fs.realpathSync(pod.command![0])).toBe(fs.realpathSync(realTool("etcd-v3.7.0", "etcd")));

        expect(pod.command).toContain(`--listen-client-urls=http://${H1.address}:2379,http://${lh}:2379`);
        expect(pod.restarts).toBe(0);
        firstPid = pod.pid!;
        const health = await etcdHealthy(`http://${H1.address}:2379`);
        expect(health.stdout + health.stderr).toMatch(/is healthy/);
        // The server itself says which release it is.
        expect(await (await fetch(`http://${H1.address}:2379/version`)).json()).toMatchObject({ etcdserver: "3.7.0" });
        await etcdHealthy(`http://${lh}:2379`);
        // Its data is in the host's /var/lib/etcd, not the machine's.
        expect(fs.existsSync(l.path(H1.name, "/var/lib/etcd/member"))).toBe(true);
        expect(fs.existsSync("/var/lib/etcd/member")).toBe(false);
    });

    test("a changed manifest restarts etcd; restarting the kubelet leaves it running", async () => {
        const l = theLab();
        const old = l.pods(H1.name).etcd;
        const oldMachinePid = l.machinePid(H1.name, firstPid);
        expect(oldMachinePid).toBeDefined();
        await writeManifest(H1, "etcd.yaml", etcdManifest(H1, 5000));
        const pod = await l.waitForPod(H1.name, "etcd", "running", 20000, s => s.manifestSha256 !== old.manifestSha256);
        expect(pod.pid).not.toBe(firstPid);
        expect(pod.command).toContain("--snapshot-count=5000");
        expect(processStart(oldMachinePid!)).toBeUndefined();
        await etcdHealthy(`http://${H1.address}:2379`);

        const kubeletPid = l.kubelet(H1.name)!.pid;
        expect((await ssh(H1, "systemctl restart kubelet && systemctl is-active kubelet")).stdout).toBe("active\n");
        await until("the new kubelet", () => (l.kubelet(H1.name)?.pid !== kubeletPid && l.kubelet(H1.name)?.state === "running" ? true : undefined));
        await new Promise(r => setTimeout(r, 1200));
        expect(l.pods(H1.name).etcd).toMatchObject({ state: "running", pid: pod.pid, restarts: 0 });
        expect(l.kubeletLog(H1.name)).toContain(`static pod etcd: found running pid ${pod.pid}; adopting it`);
    });

    test("a flag the binary does not know rejects the pod, loudly", async () => {
        const l = theLab();
        const manifest = etcdManifest({ name: "etcd-bad", address: H1.address }, 10000, ["--no-such-flag=1"]).replace("name: etcd\n", "name: etcd-bad\n");
        await writeManifest(H1, "etcd-bad.yaml", manifest);
        const pod = await l.waitForPod(H1.name, "etcd-bad", "rejected");
        expect(pod.unknownFlags).toEqual(["--no-such-flag"]);
        expect(pod.pid).toBeUndefined();
        expect(pod.reason).toContain("--no-such-flag");
        expect(l.kubeletLog(H1.name)).toMatch(/^E.*static pod etcd-bad .*REJECTED.*--no-such-flag/m);

        // An image tag the lab has no build of is not run by some other etcd: the pod says which tags there are.
        const old = etcdManifest({ name: "etcd-old", address: H1.address }, 10000).replace("name: etcd\n", "name: etcd-old\n").replace("etcd:3.7.0-0", "etcd:3.5.21-0");
        await writeManifest(H1, "etcd-old.yaml", old);
        const notRun = await l.waitForPod(H1.name, "etcd-old", "not-runnable");
        expect(notRun.reason).toContain("image registry.k8s.io/etcd:3.5.21-0: the lab has etcd 3.5.24-0, 3.6.5-0, 3.6.6-0, 3.6.8-0, 3.7.0-0, not 3.5.21-0");
        await ssh(H1, "rm /etc/kubernetes/manifests/etcd-old.yaml");

        // A member URL outside 127.0.0.0/8 is never dialled.
        const far = etcdManifest({ name: "etcd-far", address: H1.address }, 10000, ["--initial-cluster=etcd-far=http://10.0.0.1:2380"]).replace("name: etcd\n", "name: etcd-far\n");
        await writeManifest(H1, "etcd-far.yaml", far);
        expect((await l.waitForPod(H1.name, "etcd-far", "rejected")).reason).toBe("--initial-cluster names 10.0.0.1, outside 127.0.0.0/8: lab hosts use 127.x.y.z addresses");
        await ssh(H1, "rm /etc/kubernetes/manifests/etcd-far.yaml");
    });

    test("a pod whose binary is not on the machine is not-runnable", async () => {
        const l = theLab();
        await writeManifest(H1, "kube-scheduler.json", simplePod("kube-scheduler", "registry.k8s.io/kube-scheduler:v1.33.2", ["kube-scheduler", "--secure-port=10259"]));
        const pod = await l.waitForPod(H1.name, "kube-scheduler", "not-runnable");
        expect(pod.reason).toMatch(/^kube-scheduler: no such binary on this machine/);
    });

    test("a process that exits is restarted and counted; a removed manifest stops its pod", async () => {
        const l = theLab();
        await writeManifest(H1, "crasher.json", simplePod("crasher", "busybox", ["/bin/sh", "-c", "sleep 0.2; exit 3"]));
        const pod = await until("crasher to be restarted", () => {
            const p = l.pods(H1.name).crasher;
            return p && p.restarts >= 1 ? p : undefined;
        });
        expect(pod.restarts).toBeGreaterThanOrEqual(1);
        expect(l.kubeletLog(H1.name)).toMatch(/static pod crasher: pid \d+ exited with status 3; restarting in \d+ ms/);

        const etcd = l.pods(H1.name).etcd;
        const etcdMachinePid = l.machinePid(H1.name, etcd.pid!);
        await ssh(H1, "rm /etc/kubernetes/manifests/crasher.json /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/manifests/etcd-bad.yaml");
        await until("the pods to go", () => (!l.pods(H1.name).crasher && !l.pods(H1.name).etcd && !l.pods(H1.name)["etcd-bad"] ? true : undefined));
        expect(processStart(etcdMachinePid!)).toBeUndefined();
        const r = await runTool(etcdctl(), ["--endpoints", `http://${H1.address}:2379`, "--dial-timeout=1s", "--command-timeout=1s", "endpoint", "health"]);
        expect(r.code).not.toBe(0);
        expect(Object.keys(l.pods(H1.name))).toEqual(["kube-scheduler"]);
    });
});

describe("LabCommandRunner", () => {
    const runner = new LabCommandRunner();
    const connection = (h: { address: string }) => ({ host: h.address, port: theLab().sshPort, user: "root", privateKey: theLab().privateKey });
    const REMOTE = "command:remote:Command";

    test("runs create over ssh with stdin and returns the trimmed outputs", async () => {
        const out = await runner.handle(REMOTE, { connection: connection(H1), create: "cat; hostname; echo warn >&2", stdin: "hello from stdin\n" }, "hello");
        expect(out).toEqual({ stdout: `hello from stdin\n${H1.name}`, stderr: "warn" });
        expect(runner.runs.at(-1)).toMatchObject({ name: "hello", host: H1.address, port: theLab().sshPort, exitCode: 0, stdinLength: 17 });
        expect(await runner.handle("tls:index/privateKey:PrivateKey", {}, "other")).toBeUndefined();
    });

    test("fails like the provider: exit status, environment, non-loopback hosts", async () => {
        const create = "echo out; sleep 0.1; echo err >&2; exit 3";
        await expect(runner.handle(REMOTE, { connection: connection(H1), create }, "fails"))
            .rejects.toThrow(`Process exited with status 3: running "${create}":\nout\nerr\n`);
        expect(runner.runs.at(-1)).toMatchObject({ name: "fails", exitCode: 3, stdout: "out\n", stderr: "err\n" });
        await expect(runner.handle(REMOTE, { connection: connection(H1), create: "env", environment: { FOO: "bar" } }, "env"))
            .rejects.toThrow('could not set environment variable "FOO": ssh: setenv failed');
        await expect(runner.handle(REMOTE, { connection: { host: "10.0.0.1", privateKey: "x" }, create: "true" }, "far"))
            .rejects.toThrow(/refusing to connect to host "10.0.0.1"/);
    });

    test("a stopped sshd fails naming host:port; startSshd brings it back", async () => {
        const l = theLab();
        await l.stopSshd(H2.name);
        await l.stopSshd(H2.name); // again: nothing to do
        const t0 = Date.now();
        await expect(runner.handle(REMOTE, { connection: connection(H2), create: "hostname" }, "down"))
            .rejects.toThrow(`after 3 failed attempts: dial tcp ${H2.address}:${l.sshPort}: connect: connection refused`);
        expect(Date.now() - t0).toBeLessThan(8000);
        await l.startSshd(H2.name);
        await l.startSshd(H2.name); // again: already running
        expect(await runner.handle(REMOTE, { connection: connection(H2), create: "hostname" }, "up")).toEqual({ stdout: H2.name, stderr: "" });
    });

    test("under Pulumi's mock runtime, remote.Command resources run for real, in order, and no secret is in a command", async () => {
        const rt = await new MockRuntime(runner.handle).start();
        const first = new command.remote.Command("first", { connection: connection(H2), create: "echo one >/tmp/order; cat /tmp/order" });
        const second = new command.remote.Command("second", { connection: connection(H2), create: "echo two >>/tmp/order; cat /tmp/order" }, { dependsOn: [first] });
        expect(await valueOf(second.stdout)).toBe("one\ntwo");
        expect(await valueOf(first.stdout)).toBe("one");
        expect(rt.ofType(REMOTE).map(r => r.name)).toEqual(["first", "second"]);
        const names = runner.runs.map(r => r.name);
        expect(names.indexOf("first")).toBeLessThan(names.indexOf("second"));
        const keyBody = theLab().privateKey.split("\n")[1];
        for (const run of runner.runs) expect(run.command).not.toContain(keyBody);
        // On the host, not on the machine.
        expect(fs.readFileSync(theLab().path(H2.name, "/tmp/order"), "utf8")).toBe("one\ntwo\n");
    });

    test("in preview nothing runs", async () => {
        const before = runner.runs.length;
        await new MockRuntime(runner.handle).start({ preview: true });
        const c = new command.remote.Command("previewed", { connection: connection(H2), create: "touch /tmp/previewed" });
        await valueOf(c.urn);
        expect(runner.runs.length).toBe(before);
        expect(fs.existsSync(theLab().path(H2.name, "/tmp/previewed"))).toBe(false);
    });
});

describe("stopping", () => {
    test("stop() kills every process by pid, removes the state dir, and is safe to repeat; a new lab starts again", async () => {
        const l = theLab();
        const pids = l.knownPids();
        expect(pids.length).toBeGreaterThanOrEqual(8); // per host: unshare, holder, sshd, kubelet (+ pods)
        await l.stop();
        for (const p of pids) expect({ pid: p.pid, command: p.command, running: processStart(p.pid) === p.start }).toMatchObject({ running: false });
        expect(fs.existsSync(l.stateDir)).toBe(false);
        await l.stop();
        await expect(l.exec(H1.name, "true")).rejects.toThrow(/not running/);

        // The same addresses and port again, with a given state dir, twice.
        const dir = `${l.stateDir}-again`;
        for (let i = 0; i < 2; i++) {
            const again = await Lab.start([H1], { stateDir: dir });
            expect((await ssh(H1, "hostname", undefined, again)).stdout).toBe(`${H1.name}\n`);
            await again.stop({ keepStateDir: i === 0 });
            expect(fs.existsSync(dir)).toBe(i === 0);
        }
    });
});
