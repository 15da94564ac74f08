import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// `npm run rehearse -- --program P` as a user runs it on their own program: built, then run as its own process.
const ROOT = path.resolve(__dirname, "../..");
const rehearse = (args: string[], timeout = 300_000) => {
    const r = spawnSync(process.execPath, [".tools/scripts/rehearse.js", ...args], { cwd: ROOT, encoding: "utf8", timeout });
    return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
};
const processesOf = (lab: string) => spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).stdout.split("\n").filter(line => line.includes(lab));
const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

beforeAll(() => {
    const build = spawnSync("npx", ["tsc", "-p", "tsconfig.tools.json"], { cwd: ROOT, encoding: "utf8" });
    expect(build.stdout + build.stderr).not.toMatch(/error TS/);
}, 120_000);

describe("--program examples/small-cluster: one control plane with stacked etcd, two workers, no load balancer", () => {
    let keep: string;
    let run: ReturnType<typeof rehearse>;
    beforeAll(() => {
        keep = tempDir("rehearse-small-");
        run = rehearse(["--program", "examples/small-cluster", "--keep", keep]);
    }, 320_000);
    afterAll(() => fs.rmSync(keep, { recursive: true, force: true }));

    test("starts the three hosts its Pulumi.example.yaml names and reports the health of what ran: etcd on cp-1, its serving certificate, no load balancer", () => {
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        expect(run.stdout).toMatch(/^rehearse: starting 3 lab hosts \(cp-1 127\.[\d.]+, worker-1 127\.[\d.]+, worker-2 127\.[\d.]+\)$/m);
        expect(run.stdout.match(/^\S+ \(127\.[\d.]+\)$/gm)!.map(l => l.split(" ")[0])).toEqual(["cp-1", "worker-1", "worker-2"]);
        expect(run.stdout).toMatch(/^ {2}ok {3}small-workers-worker-2-join +\d+(\.\d)? s$/m);
        expect(run.stdout).toContain("\netcd: healthy, members cp-1\n");
        expect(run.stdout).not.toContain("load balancer");
        const report = JSON.parse(fs.readFileSync(path.join(keep, "report.json"), "utf8"));
        expect(Object.keys(report.hosts)).toEqual(["cp-1", "worker-1", "worker-2"]);
        expect(Object.keys(report.health).sort()).toEqual(["etcd", "servingCertificates"]);
        // The endpoint is cp-1's lab address at the API server's port: its certificate names it.
        expect(run.stdout).toContain(`serving certificate cp-1: verified (CN=kube-apiserver, DNS:cp-1,`);
        expect(report.health.servingCertificates["cp-1"]).toContain(`IP Address:${report.hosts["cp-1"].address}`);
        const steps = run.stdout.match(/^ {2}ok {3}\S+/gm)!.length;
        expect(run.stdout).toContain(`rehearse: ${steps} steps on 3 hosts succeeded`);
    });

    test("keeps each host's files; the machine's own /etc/haproxy on none", () => {
        const verify = spawnSync("openssl", ["verify", "-CAfile", path.join(keep, "cp-1/etc/kubernetes/pki/ca.crt"), path.join(keep, "cp-1/etc/kubernetes/pki/apiserver.crt")], { encoding: "utf8" });
        expect(verify.stdout.trim()).toMatch(/: OK$/);
        // The workers joined at the endpoint, cp-1's lab address and the API server's port, and completed their TLS bootstrap.
        const { hosts } = JSON.parse(fs.readFileSync(path.join(keep, "report.json"), "utf8"));
        const workerKubeconfig = fs.readFileSync(path.join(keep, "worker-2/etc/kubernetes/kubelet.conf"), "utf8");
        expect(workerKubeconfig).toContain(`server: https://${hosts["cp-1"].address}:6443\n`);
        expect(fs.existsSync(path.join(keep, "worker-2/etc/kubernetes/bootstrap-kubelet.conf"))).toBe(false);
        for (const h of ["cp-1", "worker-1", "worker-2"]) expect([h, fs.existsSync(path.join(keep, h, "etc/haproxy"))]).toEqual([h, false]);
        // Placed files outside the lab's per-host paths are kept too.
        expect(fs.existsSync(path.join(keep, "worker-1/etc/sysctl.d/k8s.conf"))).toBe(true);
    });

    test("stops every process it started and removes the lab", () => {
        const { lab } = JSON.parse(fs.readFileSync(path.join(keep, "report.json"), "utf8"));
        expect(fs.existsSync(lab)).toBe(false);
        expect(processesOf(lab)).toEqual([]);
    });
});

describe("a failed rehearsal keeps its evidence", () => {
    let keep: string;
    let run: ReturnType<typeof rehearse>;
    beforeAll(() => {
        keep = tempDir("rehearse-failing-");
        run = rehearse(["--program", "test/fixtures/rehearse-failing/index.ts", "--keep", keep]);
    }, 320_000);
    afterAll(() => fs.rmSync(keep, { recursive: true, force: true }));

    test("exits 1 naming the step, its host and what it printed; report.json names the failure", () => {
        expect(run.status).toBe(1);
        expect(run.stderr).toBe("\nrehearse: step smoke-test on worker-1 failed:\nProcess exited with status 3\nsmoke test: no DNS answer from 10.96.0.10\n");
        const report = JSON.parse(fs.readFileSync(path.join(keep, "report.json"), "utf8"));
        expect(report.failed).toEqual([{ step: "smoke-test", host: "worker-1", message: "Process exited with status 3\nsmoke test: no DNS answer from 10.96.0.10" }]);
        expect(report.hosts["worker-1"].steps.at(-1)).toMatchObject({ step: "smoke-test", exitCode: 3 });
        expect(report.hosts["cp-1"].steps.find((s: any) => s.step === "failing-control-plane-cp-1-install")).toMatchObject({ exitCode: 0 });
        expect(run.stdout).toMatch(/^ {2}FAIL smoke-test +\d+(\.\d)? s$/m);
    });

    test("keeps each host's files and the health of what ran", () => {
        const verify = spawnSync("openssl", ["verify", "-CAfile", path.join(keep, "cp-1/etc/kubernetes/pki/ca.crt"), path.join(keep, "cp-1/etc/kubernetes/pki/apiserver.crt")], { encoding: "utf8" });
        expect(verify.stdout.trim()).toMatch(/: OK$/);
        expect(fs.existsSync(path.join(keep, "worker-1/var/lib/kubelet/config.yaml"))).toBe(true);
        const report = JSON.parse(fs.readFileSync(path.join(keep, "report.json"), "utf8"));
        expect(report.health.etcd).toMatchObject({ healthy: true, members: ["cp-1"] });
        expect(fs.existsSync(report.lab)).toBe(false);
        expect(processesOf(report.lab)).toEqual([]);
    });
});

describe("before any host: the type check and the preview", () => {
    test("a jump of two minors stops at the preview, naming the release to go through; no host is started", () => {
        const run = rehearse(["--from", "v1.35.8", "--upgrade-to", "v1.37.2"], 120_000);
        expect(run.status).toBe(1);
        expect(run.stdout).toContain("rehearse: preview of the upgrade v1.35.8 → v1.37.2\n");
        expect(run.stdout).not.toContain("starting");
        expect(run.stderr).toMatch(/^rehearse: preview failed: invalid upgrade \(1 problem\):\n {2}- kubernetesVersion: "v1\.37\.2" — at most one minor above the deployed v1\.35\.8, as kubeadm upgrades: go through v1\.36\.5 first .*\nrehearse: no host was started\n$/);
    }, 150_000);

    test("a type error is reported at its position and nothing runs", () => {
        const dir = tempDir("rehearse-typo-");
        try {
            for (const f of ["Pulumi.yaml", "Pulumi.example.yaml"]) fs.copyFileSync(path.join(ROOT, "examples/small-cluster", f), path.join(dir, f));
            const source = fs.readFileSync(path.join(ROOT, "examples/small-cluster/index.ts"), "utf8").replace("kubernetesVersion: config.get", "kubernetesVerison: config.get");
            fs.writeFileSync(path.join(dir, "index.ts"), source);
            const line = source.split("\n").findIndex(l => l.includes("kubernetesVerison")) + 1;
            const run = rehearse(["--program", dir], 120_000);
            expect(run.status).toBe(1);
            expect(run.stderr).toBe(`${path.join(dir, "index.ts")}:${line}:5 - error TS2561: Object literal may only specify known properties, but 'kubernetesVerison' does not exist in type 'ClusterArgs'. Did you mean to write 'kubernetesVersion'?\nrehearse: ${path.join(dir, "index.ts")} does not type-check (1 error); no host was started\n`);
            expect(run.stdout).not.toContain("preview");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 150_000);
});

describe("Ctrl-C", () => {
    test("while the program deploys: exits 130 having stopped every process it started and removed the lab", async () => {
        const child = spawn(process.execPath, [".tools/scripts/rehearse.js", "--program", "examples/small-cluster"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stderr.setEncoding("utf8").on("data", d => (err += d));
        const exited = new Promise<number | null>(resolve => child.on("exit", code => resolve(code)));
        const lab = await new Promise<string>((resolve, reject) => {
            child.stdout.setEncoding("utf8").on("data", d => {
                out += d;
                const m = /^rehearse: lab (\S+) up; deploying$/m.exec(out);
                if (m) resolve(m[1]);
            });
            void exited.then(() => reject(new Error(`exited before its lab was up:\n${out}${err}`)));
        });
        // Until the deployment has placed files on cp-1 (its steps are running).
        const placed = () => { try { return fs.readdirSync(path.join(lab, "hosts/cp-1/fs/etc/kubernetes")).length > 0; } catch { return false; } };
        for (let i = 0; i < 600 && !placed(); i++) await new Promise(r => setTimeout(r, 100));
        expect(placed()).toBe(true);
        expect(processesOf(lab).length).toBeGreaterThan(0);
        child.kill("SIGINT");
        expect(await exited).toBe(130);
        expect(err).toContain("rehearse: SIGINT: stopping every lab process");
        expect(fs.existsSync(lab)).toBe(false);
        expect(processesOf(lab)).toEqual([]);
    }, 150_000);
});
