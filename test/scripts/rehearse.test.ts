import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// `npm run rehearse`, as a new user runs it: built, then run as its own process against lab hosts.
const ROOT = path.resolve(__dirname, "../..");
let keep: string;
let run: ReturnType<typeof spawnSync>;

beforeAll(() => {
    const build = spawnSync("npx", ["tsc", "-p", "tsconfig.tools.json"], { cwd: ROOT, encoding: "utf8" });
    expect(build.stdout + build.stderr).not.toMatch(/error TS/);
    keep = fs.mkdtempSync(path.join(os.tmpdir(), "rehearse-keep-"));
    run = spawnSync(process.execPath, [".tools/scripts/rehearse.js", "--workers", "1", "--keep", keep], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
}, 360_000);

afterAll(() => fs.rmSync(keep, { recursive: true, force: true }));

describe("npm run rehearse -- --workers 1 --keep DIR", () => {
    test("exits 0 and prints each host's steps, healthy etcd, the LB backends UP and verified serving certificates", () => {
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        const out = String(run.stdout);
        for (const h of ["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "worker-1", "lb-1"]) expect(out).toMatch(new RegExp(`^${h} \\(127\\.`, "m"));
        expect(out).toMatch(/^ {2}ok {3}ha-workers-worker-1-join +\d+(\.\d)? s$/m);
        // The plan first: the preview, before the hosts start.
        const starting = out.indexOf("rehearse: starting 8 lab hosts");
        expect(out.indexOf("rehearse: preview\n")).toBeGreaterThan(-1);
        expect(out.indexOf("rehearse: preview\n")).toBeLessThan(out.indexOf("\n  plan: "));
        expect(out.indexOf("\n  plan: ")).toBeLessThan(starting);
        // The lab's host keys are trusted on first use, and the preview says so for each host.
        const tofu = out.indexOf("hosts[3] (cp-1).ssh.trustOnFirstUse: no host key is pinned for 127.");
        expect(tofu).toBeGreaterThan(out.indexOf("rehearse: preview\n"));
        expect(tofu).toBeLessThan(starting);
        expect(out).toContain("etcd: healthy, members etcd-1, etcd-2, etcd-3");
        expect(out).toContain("load balancer (lb-1, apiserverbackend): cp-1 UP, cp-2 UP, cp-3 UP");
        expect(out.match(/^serving certificate cp-\d: verified \(CN=kube-apiserver/gm)).toHaveLength(3);
        const steps = out.match(/^ {2}ok {3}\S+/gm)!.length;
        expect(out).toContain(`rehearse: ${steps} steps on 8 hosts succeeded`);
    });

    test("leaves each host's files under DIR/<node>/ mirroring their paths, and the report", () => {
        const ca = path.join(keep, "cp-1/etc/kubernetes/pki/ca.crt");
        const verify = spawnSync("openssl", ["verify", "-CAfile", ca, path.join(keep, "cp-2/etc/kubernetes/pki/apiserver.crt")], { encoding: "utf8" });
        expect(verify.stdout.trim()).toMatch(/: OK$/);
        expect((fs.statSync(path.join(keep, "cp-1/etc/kubernetes/pki/ca.key")).mode & 0o777).toString(8)).toBe("600");
        // The lab kubelet completed its TLS bootstrap, so the join removed bootstrap-kubelet.conf, as kubeadm does.
        expect(fs.existsSync(path.join(keep, "worker-1/etc/kubernetes/kubelet.conf"))).toBe(true);
        expect(fs.existsSync(path.join(keep, "worker-1/etc/kubernetes/bootstrap-kubelet.conf"))).toBe(false);
        expect(fs.readFileSync(path.join(keep, "lb-1/etc/haproxy/haproxy.cfg"), "utf8")).toMatch(/server cp-3 /);
        // /etc/haproxy only where the steps placed HAProxy's configuration (elsewhere it is the machine's own, under the host's overlay).
        expect(["etcd-1", "cp-1", "worker-1"].filter(h => fs.existsSync(path.join(keep, h, "etc/haproxy")))).toEqual([]);
        expect(fs.readdirSync(path.join(keep, "lb-1/etc/haproxy"))).toEqual(["haproxy.cfg"]);
        const report = JSON.parse(fs.readFileSync(path.join(keep, "report.json"), "utf8"));
        expect(report.failed).toEqual([]);
        expect(report.health.etcd).toMatchObject({ healthy: true, members: ["etcd-1", "etcd-2", "etcd-3"] });
        expect(report.hosts["cp-2"].steps.map((s: any) => s.step)).toEqual(["ha-cp-2-host-key", "ha-control-plane-cp-2-preflight", "ha-control-plane-cp-2-prepare", "ha-control-plane-cp-2-install", "ha-control-plane-cp-2-ready", "ha-control-plane-cp-2-upgraded", "ha-control-plane-cp-2-kubelet"]);
        expect(report.hosts["cp-2"].files).toContain("/etc/kubernetes/manifests/kube-apiserver.yaml");
    });

    test("stops every process it started and removes the lab (with its SSH key)", () => {
        const { lab } = JSON.parse(fs.readFileSync(path.join(keep, "report.json"), "utf8"));
        expect(lab).toMatch(/pulumi-kubeadm-lab-/);
        expect(fs.existsSync(lab)).toBe(false);
        const ps = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).stdout.split("\n");
        expect(ps.filter(line => line.includes(lab))).toEqual([]);
    });
});

describe("npm run rehearse -- --workers 2 --from v1.36.5 --upgrade-to v1.37.2 --keep DIR", () => {
    let dir: string;
    let upgrade: ReturnType<typeof spawnSync>;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "rehearse-upgrade-"));
        upgrade = spawnSync(process.execPath, [".tools/scripts/rehearse.js", "--workers", "2", "--from", "v1.36.5", "--upgrade-to", "v1.37.2", "--keep", dir], { cwd: ROOT, encoding: "utf8", timeout: 400_000 });
    }, 420_000);
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("deploys v1.36.5, upgrades to v1.37.2 and prints the timeline: each control plane out, upgraded, ready and back before the next", () => {
        expect(upgrade.stderr).toBe("");
        expect(upgrade.status).toBe(0);
        const out = String(upgrade.stdout);
        expect(out).toContain("upgrade v1.36.5 → v1.37.2, timeline:");
        // The plan first: the upgrade's preview prints kubeadm's table before any host starts.
        const plan = out.slice(out.indexOf("rehearse: preview of the upgrade v1.36.5 → v1.37.2\n"), out.indexOf("rehearse: starting"));
        expect(plan).toMatch(/^ {2}info: minor upgrade v1\.36\.5 → v1\.37\.2:$/m);
        expect(plan).toMatch(/^ {4}COMPONENT +NODE +CURRENT +TARGET$/m);
        expect(plan).toMatch(/^ {4}kube-apiserver +cp-3 +v1\.36\.5 +v1\.37\.2$/m);
        expect(plan).toMatch(/^ {4}kubelet +worker-2 +v1\.36\.5 +v1\.37\.2$/m);
        const timeline: { at: string; host: string; event: string }[] = JSON.parse(fs.readFileSync(path.join(dir, "timeline.json"), "utf8"));
        const at = (host: string, event: string) => {
            const e = timeline.find(x => x.host === host && x.event === event);
            if (!e) throw new Error(`no ${event} on ${host} in ${JSON.stringify(timeline)}`);
            return Date.parse(e.at);
        };
        expect(at("cp-1", "cluster healthy")).toBeLessThan(at("etcd-1", "etcd snapshot saved"));
        expect(at("etcd-1", "etcd snapshot saved")).toBeLessThan(at("etcd-1", "etcd member changed"));
        expect(at("etcd-3", "etcd member changed")).toBeLessThan(at("cp-1", "deregistered"));
        for (const cp of ["cp-1", "cp-2", "cp-3"]) {
            expect([cp, at(cp, "deregistered") < at(cp, "manifests written"), at(cp, "manifests written") < at(cp, "ready"), at(cp, "ready") < at(cp, "re-registered")]).toEqual([cp, true, true, true]);
        }
        expect(at("cp-1", "re-registered")).toBeLessThan(at("cp-2", "deregistered"));
        expect(at("cp-2", "re-registered")).toBeLessThan(at("cp-3", "deregistered"));
        // Each control plane's kubelet after its static pods, before the next control plane; then the workers one at a time.
        for (const [cp, next] of [["cp-1", "cp-2"], ["cp-2", "cp-3"]]) {
            expect([cp, at(cp, "re-registered") < at(cp, "drained"), at(cp, "drained") < at(cp, "kubelet upgraded"), at(cp, "kubelet upgraded") < at(cp, "uncordoned"), at(cp, "uncordoned") < at(next, "deregistered")]).toEqual([cp, true, true, true, true]);
        }
        expect(at("cp-3", "uncordoned")).toBeLessThan(at("worker-1", "drained"));
        for (const w of ["worker-1", "worker-2"]) expect([w, at(w, "drained") < at(w, "kubelet upgraded"), at(w, "kubelet upgraded") < at(w, "uncordoned")]).toEqual([w, true, true]);
        expect(at("worker-1", "uncordoned")).toBeLessThan(at("worker-2", "drained"));
        expect(out).toMatch(/^ {2}\S+Z {2}worker-2 {3}kubelet upgraded$/m);
        for (const cp of ["cp-1", "cp-2", "cp-3"]) expect(fs.readFileSync(path.join(dir, cp, "etc/kubernetes/manifests/kube-apiserver.yaml"), "utf8")).toContain("image: registry.k8s.io/kube-apiserver:v1.37.2");
        expect(out).toContain("load balancer (lb-1, apiserverbackend): cp-1 UP, cp-2 UP, cp-3 UP");
        expect(out).toContain("etcd: healthy, members etcd-1, etcd-2, etcd-3");
    });
});
