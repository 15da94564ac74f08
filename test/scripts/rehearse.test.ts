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
        expect(out).toContain("etcd: healthy, members etcd-1, etcd-2, etcd-3");
        expect(out).toContain("load balancer (lb-1, apiserverbackend): cp-1 UP, cp-2 UP, cp-3 UP");
        expect(out.match(/^serving certificate cp-\d: verified \(CN=kube-apiserver/gm)).toHaveLength(3);
        expect(out).toMatch(/rehearse: 25 steps on 8 hosts succeeded/);
    });

    test("leaves each host's files under DIR/<node>/ mirroring their paths, and the report", () => {
        const ca = path.join(keep, "cp-1/etc/kubernetes/pki/ca.crt");
        const verify = spawnSync("openssl", ["verify", "-CAfile", ca, path.join(keep, "cp-2/etc/kubernetes/pki/apiserver.crt")], { encoding: "utf8" });
        expect(verify.stdout.trim()).toMatch(/: OK$/);
        expect((fs.statSync(path.join(keep, "cp-1/etc/kubernetes/pki/ca.key")).mode & 0o777).toString(8)).toBe("600");
        expect(fs.existsSync(path.join(keep, "worker-1/etc/kubernetes/bootstrap-kubelet.conf"))).toBe(true);
        expect(fs.readFileSync(path.join(keep, "lb-1/etc/haproxy/haproxy.cfg"), "utf8")).toMatch(/server cp-3 /);
        const report = JSON.parse(fs.readFileSync(path.join(keep, "report.json"), "utf8"));
        expect(report.failed).toEqual([]);
        expect(report.health.etcd).toMatchObject({ healthy: true, members: ["etcd-1", "etcd-2", "etcd-3"] });
        expect(report.hosts["cp-2"].steps.map((s: any) => s.step)).toEqual(["ha-control-plane-cp-2-preflight", "ha-control-plane-cp-2-install", "ha-control-plane-cp-2-ready"]);
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
