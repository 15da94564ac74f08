import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/cluster";
import { ClusterSpec, HostSpec } from "../../spec/types";
import { etcdctl, etcdutl } from "../../scripts/real-tools";
import { haproxyBackends, Lab, labHosts } from "../lab/lab";
import { CommandRun, LabCommandRunner } from "../lab/runtime";
import { deployInLab } from "../support/lab-deploy";
import { EngineState } from "../support/mocks";
import { LAB_SKIPS } from "../../scripts/rehearsal-config";

// A minor upgrade in the lab: etcd stacked on 3 control planes behind HAProxy, one worker, deployed
// at v1.36.5 (kubelets of v1.36.5), then the same program at v1.37.0 (the real etcd 3.6.8 → 3.7.0, as
// the images kubeadm names). cp-2's kube-apiserver is made never ready with the
// new image (the lab's apiserver stand-in reads /var/lib/lab/unready-images): its manifests must be
// rolled back, the node registered again and the run stopped with cp-3 untouched. The runs share
// the engine's state (the same keys and certificates, the recorded versions).
const HOSTS = labHosts(["cp-1", "cp-2", "cp-3", "worker-1", "lb-1"]);
const LB = HOSTS.find(h => h.name === "lb-1")!;
const CONTROL_PLANES = ["cp-1", "cp-2", "cp-3"];
const SKIPPED = LAB_SKIPS;
const role = (name: string) => (name.startsWith("cp") ? "control-plane" : name.startsWith("worker") ? "worker" : "load-balancer");
const NEW_APISERVER = "registry.k8s.io/kube-apiserver:v1.37.0";
const OLD_APISERVER = "registry.k8s.io/kube-apiserver:v1.36.5";

let lab: Lab;
let runner: LabCommandRunner;
const state: EngineState = new Map();
let spec: (version: string) => ClusterSpec;

/** Runs the program at `version` to its end; the steps it ran and the failures it stopped with. */
const up = (version: string) => deployInLab(runner, state, "u-deployed-versions", () => new Cluster("u", spec(version)));
const apiserverImage = (host: string) => /image: (\S+)/.exec(fs.readFileSync(lab.path(host, "/etc/kubernetes/manifests/kube-apiserver.yaml"), "utf8"))![1];
const backups = (host: string) => fs.readdirSync(lab.path(host, "/etc/kubernetes/tmp")).filter(d => d.startsWith("kubeadm-backup-manifests-"));
/** The real etcdctl against the three members, with cp-1's healthcheck-client certificate. */
function etcd(...args: string[]) {
    const pki = lab.path("cp-1", "/etc/kubernetes/pki/etcd");
    return spawnSync(etcdctl(), [`--endpoints=${HOSTS.filter(h => h.name.startsWith("cp")).map(h => `https://${h.address}:2379`).join(",")}`,
        `--cacert=${pki}/ca.crt`, `--cert=${pki}/healthcheck-client.crt`, `--key=${pki}/healthcheck-client.key`, ...args],
    { encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 30_000 });
}
const etcdHealthy = (): boolean => etcd("endpoint", "health").status === 0;
/** [start, end] of each control plane's time out of the load balancer: from its deregistration to its registration. */
function outOfRotation(runs: CommandRun[]): [string, number, number][] {
    return CONTROL_PLANES.flatMap(cp => {
        const out = runs.find(r => r.name === `u-control-plane-${cp}-deregister-lb-1`);
        const back = runs.find(r => r.name === `u-control-plane-${cp}-register-lb-1`);
        return out && back ? [[cp, out.startedAt, back.startedAt + back.durationMs] as [string, number, number]] : [];
    });
}

beforeAll(async () => {
    lab = await Lab.start(HOSTS, { kubeletVersion: "1.36.5" });
    runner = new LabCommandRunner(lab);
    const hosts: HostSpec[] = HOSTS.map(h => ({
        name: h.name, address: h.address, roles: [role(h.name)],
        ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(h.name) },
    }));
    spec = version => ({
        kubernetesVersion: version, controlPlaneEndpoint: `${LB.address}:6443`, networking: { podSubnet: "10.244.0.0/16" }, hosts,
        certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: SKIPPED,
        apiServer: { readinessTimeoutSeconds: 20 }, loadBalancer: { bindAddress: LB.address }, join: { tlsBootstrapTimeoutSeconds: 0 },
    });
    const installed = await up("v1.36.5");
    expect(installed.failures).toEqual([]);
    expect(installed.runs.find(r => r.name === "u-upgrade-preflight")!.stdout.trim()).toBe("no control plane on cp-1 yet: a new cluster, nothing to check");
    expect(installed.runs.find(r => r.name === "u-etcd-snapshot")!.stdout.trim()).toBe("no etcd member on cp-1 yet: nothing to snapshot");
    // The lab's API server stand-in stores nothing: a key of our own, for the snapshot to carry.
    expect(etcd("put", "/lab/before-upgrade", "kept").status).toBe(0);
}, 600_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

describe("a minor upgrade in the lab, v1.36.5 → v1.37.0", () => {
    let failed: { runs: CommandRun[]; failures: Error[] };
    let upgraded: { runs: CommandRun[]; failures: Error[] };

    test("a control plane that is not ready with the new version is rolled back and registered again; the run stops before the next one", async () => {
        fs.writeFileSync(lab.path("cp-2", "/var/lib/lab/unready-images"), `${NEW_APISERVER}\n`);
        failed = await up("v1.37.0");
        expect(failed.failures.map(f => f.message)).toEqual([expect.stringContaining("u-control-plane-cp-2-upgraded")]);
        expect(failed.failures[0].message).toMatch(/kube-apiserver was not ready within 20s with the new manifests, so they were rolled back to \/etc\/kubernetes\/tmp\/kubeadm-backup-manifests-[0-9-]+ \(kubeadm's backup\) and the node is ready and back in the load balancer; no other node was changed/);
        expect(apiserverImage("cp-1")).toBe(NEW_APISERVER);
        expect(apiserverImage("cp-2")).toBe(OLD_APISERVER);
        expect(apiserverImage("cp-3")).toBe(OLD_APISERVER);
        // cp-3 was not touched: not even taken out of the load balancer.
        expect(failed.runs.map(r => r.name)).not.toContain("u-control-plane-cp-3-deregister-lb-1");
        expect(failed.runs.find(r => r.name === "u-control-plane-cp-2-ready")!.stdout).toMatch(/rolling back: restored the manifests of .*\n.*kube-apiserver on cp-2 is ready/);
        // kubeadm's backup of what each upgraded node ran before.
        for (const cp of ["cp-1", "cp-2"]) {
            const [dir] = backups(cp);
            expect(fs.readFileSync(lab.path(cp, `/etc/kubernetes/tmp/${dir}/kube-apiserver.yaml`), "utf8")).toContain(`image: ${OLD_APISERVER}`);
        }
        expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "UP", "cp-3": "UP" });
        expect(etcdHealthy()).toBe(true);
        // cp-1's etcd (a new image, renewed certificates) restarted only once the other two members answered healthy.
        const cp1 = failed.runs.find(r => r.name === "u-control-plane-cp-1-install")!;
        expect(cp1.stdout).toContain("etcd: 2 of 2 other voting members healthy (2 needed): cp-1 may restart");
        // Its step ended only once a new etcd process served and was healthy, so cp-2's etcd restarted after it.
        expect(cp1.stdout).toContain("restarted member is healthy");
        const etcdStarted = Date.parse(lab.pods("cp-1").etcd.startedAt!);
        expect(etcdStarted).toBeGreaterThanOrEqual(cp1.startedAt);
        expect(etcdStarted).toBeLessThanOrEqual(cp1.startedAt + cp1.durationMs);
        // Before anything changed: kubeadm upgrade's health checks, then a snapshot of etcd on cp-1, which etcdctl reads back.
        expect(failed.runs.find(r => r.name === "u-upgrade-preflight")!.stdout.trim()).toBe("cluster healthy before the upgrade to v1.37.0-etcd-3.7.0-0: 3 control plane(s) ready, etcd members cp-1,cp-2,cp-3 healthy");
        const snapshot = failed.runs.find(r => r.name === "u-etcd-snapshot")!;
        const [, file, sha] = /etcd snapshot: (\/var\/lib\/etcd-snapshots\/pre-upgrade-v1\.37\.0-etcd-3\.7\.0-0-[0-9-]+\.db) sha256:([0-9a-f]{64})/.exec(snapshot.stdout)!;
        expect(snapshot.startedAt + snapshot.durationMs).toBeLessThanOrEqual(failed.runs.find(r => r.name === "u-control-plane-cp-1-deregister-lb-1")!.startedAt);
        const onHost = lab.path("cp-1", file);
        expect((fs.statSync(onHost).mode & 0o777).toString(8)).toBe("600");
        expect(createHash("sha256").update(fs.readFileSync(onHost)).digest("hex")).toBe(sha);
        const status = spawnSync(etcdutl(), ["snapshot", "status", onHost, "-w", "json"], { encoding: "utf8", env: { PATH: process.env.PATH } });
        expect(JSON.parse(status.stdout).totalKey).toBeGreaterThan(0);
        // Nothing after the failed node: the workers and add-ons wait for every control plane, and the record keeps v1.36.5.
        expect(failed.runs.map(r => r.name)).not.toContain("u-workers-worker-1-join");
        expect(JSON.parse(state.get("pulumi:index:Stash::u-deployed-versions")!.inputs).input.kubernetesVersion).toBe("v1.36.5");
    }, 600_000);

    test("fixed and run again: every control plane upgraded one at a time, never two out of the load balancer", async () => {
        fs.rmSync(lab.path("cp-2", "/var/lib/lab/unready-images"));
        const pki = (f: string) => fs.readFileSync(lab.path("cp-3", `/etc/kubernetes/pki/${f}`), "utf8");
        const before = { crt: pki("apiserver.crt"), key: pki("apiserver.key") };
        upgraded = await up("v1.37.0");
        expect(upgraded.failures).toEqual([]);
        for (const cp of CONTROL_PLANES) expect([cp, apiserverImage(cp)]).toEqual([cp, NEW_APISERVER]);
        // kubeadm upgrade's certificate renewal: a new serving certificate for the same key, signed by the same CA.
        expect(pki("apiserver.crt")).not.toBe(before.crt);
        expect(pki("apiserver.key")).toBe(before.key);
        const verify = spawnSync("openssl", ["verify", "-CAfile", lab.path("cp-3", "/etc/kubernetes/pki/ca.crt"), lab.path("cp-3", "/etc/kubernetes/pki/apiserver.crt")], { encoding: "utf8" });
        expect(verify.stdout.trim()).toMatch(/: OK$/);
        const windows = outOfRotation(upgraded.runs);
        expect(windows.map(w => w[0])).toEqual(CONTROL_PLANES);
        // cp-3's etcd restarted behind the quorum gate (cp-2's was upgraded in the failed run: a rollback never touches etcd).
        expect(upgraded.runs.find(r => r.name === "u-control-plane-cp-3-install")!.stdout).toContain("etcd: 2 of 2 other voting members healthy (2 needed): cp-3 may restart");
        expect(upgraded.runs.find(r => r.name === "u-control-plane-cp-2-install")!.stdout).not.toContain("may restart");
        for (let i = 1; i < windows.length; i++) expect(windows[i][1]).toBeGreaterThanOrEqual(windows[i - 1][2]);
        expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "UP", "cp-3": "UP" });
        expect(etcdHealthy()).toBe(true);
        expect(JSON.parse(state.get("pulumi:index:Stash::u-deployed-versions")!.inputs).input.kubernetesVersion).toBe("v1.37.0");
    }, 600_000);

    test("registration afterAll (v1.37.0 → v1.37.1): an upgraded control plane stays out while another still serves v1.37.0; the last old one going out switches over", async () => {
        const { runs, failures } = await deployInLab(runner, state, "u-deployed-versions", () => new Cluster("u", { ...spec("v1.37.1"), upgrade: { registration: "afterAll" } }));
        expect(failures).toEqual([]);
        const run = (name: string) => runs.find(r => r.name === name)!;
        const end = (r: CommandRun) => r.startedAt + r.durationMs;
        for (const cp of CONTROL_PLANES) expect([cp, apiserverImage(cp)]).toEqual([cp, "registry.k8s.io/kube-apiserver:v1.37.1"]);
        for (const cp of ["cp-1", "cp-2"]) {
            expect(run(`u-control-plane-${cp}-register-lb-1`).stdout).toMatch(new RegExp(`^deferred: ${cp} runs v1\\.37\\.1 and cp-\\d, still registered, runs v1\\.37\\.0; ${cp} comes back once every control plane runs one version`, "m"));
        }
        // When cp-3, the last at v1.37.0, went out, HAProxy switched over to cp-1 and cp-2 in the same command; cp-3 came back at v1.37.1.
        expect(run("u-control-plane-cp-3-deregister-lb-1").stdout).toContain("switching over: cp-1 cp-2 (at v1.37.1) back in as cp-3 goes out");
        expect(run("u-control-plane-cp-3-register-lb-1").stdout).toContain("registered cp-3 on lb-1: UP");
        expect(run("u-control-plane-lb-1-register-all").stdout).toContain("every control plane was already in the load balancer of lb-1");
        // Still one control plane changing at a time.
        for (const [cp, next] of [["cp-1", "cp-2"], ["cp-2", "cp-3"]]) {
            expect(end(run(`u-control-plane-${cp}-upgraded`))).toBeLessThanOrEqual(run(`u-control-plane-${next}-deregister-lb-1`).startedAt);
        }
        expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "UP", "cp-3": "UP" });
        expect(etcdHealthy()).toBe(true);
        // The same program again, a day-2 change of one flag: every control plane comes back as soon as it is ready.
        const day2 = await deployInLab(runner, state, "u-deployed-versions", () => new Cluster("u", {
            ...spec("v1.37.1"), upgrade: { registration: "afterAll" }, apiServer: { readinessTimeoutSeconds: 20, extraArgs: [{ name: "audit-log-maxage", value: "30" }] },
        }));
        expect(day2.failures).toEqual([]);
        for (const cp of CONTROL_PLANES) expect([cp, day2.runs.find(r => r.name === `u-control-plane-${cp}-register-lb-1`)!.stdout]).toEqual([cp, expect.stringContaining(`registered ${cp} on lb-1: UP`)]);
    }, 900_000);

    test("an unhealthy cluster does not start an upgrade: the checks are read again for 30 s, then every problem named, nothing changed", async () => {
        fs.writeFileSync(lab.path("cp-3", "/var/lib/lab/unready-images"), `${apiserverImage("cp-3")}\n`);
        const before = fs.readFileSync(lab.path("cp-1", "/etc/kubernetes/manifests/kube-apiserver.yaml"), "utf8");
        const refused = await up("v1.37.2");
        expect(refused.failures).toHaveLength(1);
        expect(refused.failures[0].message).toMatch(/\[cp-1\] upgrade preflight: the cluster is not healthy, so the upgrade to v1\.37\.2-etcd-3\.7\.0-0 does not start \(nothing was changed\):\n  - control plane cp-3 is not ready: https:\/\/[0-9.]+:6443\/readyz answered \[-\]lab failed/);
        // Read again for 30 s (the script counts whole seconds with date +%s, so a little under 30 000 ms can pass).
        expect(refused.runs.find(r => r.name === "u-upgrade-preflight")!.durationMs).toBeGreaterThanOrEqual(28_000);
        expect(refused.runs.map(r => r.name).filter(n => /deregister|install|snapshot/.test(n))).toEqual([]);
        expect(fs.readFileSync(lab.path("cp-1", "/etc/kubernetes/manifests/kube-apiserver.yaml"), "utf8")).toBe(before);
    }, 300_000);

    test("a control plane that becomes ready while the checks are read again (a restart, a leader election) does not stop the upgrade", async () => {
        const since = Date.now();
        const recovered = (async () => {
            while (!runner.runs.some(r => r.name === "u-upgrade-preflight" && r.startedAt >= since)) await new Promise(r => setTimeout(r, 200));
            await new Promise(r => setTimeout(r, 6_000));
            fs.rmSync(lab.path("cp-3", "/var/lib/lab/unready-images"));
        })();
        const upgraded = await up("v1.37.2");
        await recovered;
        expect(upgraded.failures).toEqual([]);
        const health = upgraded.runs.find(r => r.name === "u-upgrade-preflight")!;
        expect(health.durationMs).toBeGreaterThanOrEqual(6_000);
        expect(health.stdout.trim()).toBe("cluster healthy before the upgrade to v1.37.2-etcd-3.7.0-0: 3 control plane(s) ready, etcd members cp-1,cp-2,cp-3 healthy");
        for (const cp of CONTROL_PLANES) expect([cp, apiserverImage(cp)]).toEqual([cp, "registry.k8s.io/kube-apiserver:v1.37.2"]);
        expect(etcdHealthy()).toBe(true);
    }, 600_000);
});
