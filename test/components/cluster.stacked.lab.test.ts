import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/cluster";
import { ClusterSpec, HostSpec } from "../../spec/types";
import { etcdctl as realEtcdctl } from "../../scripts/real-tools";
import { Lab, labHosts } from "../lab/lab";
import { LabCommandRunner } from "../lab/runtime";
import { MockRuntime } from "../support/mocks";
import { LAB_SKIPS } from "../../scripts/rehearsal-config";

// kubeadm's default shape: etcd stacked on 3 control planes, behind HAProxy, one worker. The hosts
// start bare (no kubelet package, no container runtime): the cluster's node preparation installs
// them with the user's command. Here that command installs the lab's stand-ins: the lab kubelet as
// /usr/bin/kubelet, and a containerd that only answers `containerd config default` and idles.
const HOSTS = labHosts(["cp-1", "cp-2", "cp-3", "worker-1", "lb-1"]);
const LB = HOSTS.find(h => h.name === "lb-1")!;
const CONTROL_PLANES = HOSTS.filter(h => h.name.startsWith("cp"));
const NODES = HOSTS.filter(h => h.name !== "lb-1");
const SKIPPED = LAB_SKIPS;
const role = (name: string) => (name.startsWith("cp") ? "control-plane" : name.startsWith("worker") ? "worker" : "load-balancer");
const PREPARE = `set -euo pipefail
echo "$KUBERNETES_VERSION $KUBERNETES_MINOR" >> /var/lib/lab/node-preparation.log
ln -sf /usr/local/sbin/kubelet /usr/bin/kubelet
cat > /usr/bin/containerd <<'EOF'
#!/bin/sh
if [ "$1 $2" = "config default" ]; then
    printf 'version = 2\\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\\n  SystemdCgroup = false\\n'
    exit 0
fi
exec sleep infinity
EOF
chmod 0755 /usr/bin/containerd
printf '[Service]\\nExecStart=/usr/bin/containerd\\n' > /etc/systemd/system/containerd.service
`;

let lab: Lab;
let runner: LabCommandRunner;
let runtime: MockRuntime;

beforeAll(async () => {
    lab = await Lab.start(HOSTS, { kubeletPackage: false });
    // The lab shares the machine's kernel and network namespace: kernel modules and net sysctls set
    // on a lab host would change the machine. Those two files make node preparation leave both alone.
    for (const h of NODES) {
        const r = await lab.exec(h.name, "install -d /etc/modules-load.d /etc/sysctl.d && echo '# the lab machine keeps its own' | tee /etc/modules-load.d/k8s.conf > /etc/sysctl.d/k8s.conf");
        expect(r.code).toBe(0);
    }
    runner = new LabCommandRunner(lab);
    runtime = await new MockRuntime(runner.handle).start();
    const hosts: HostSpec[] = HOSTS.map(h => ({
        name: h.name, address: h.address, roles: [role(h.name)],
        ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(h.name) },
    }));
    const spec: ClusterSpec = {
        kubernetesVersion: "v1.33.2", controlPlaneEndpoint: `${LB.address}:6443`, networking: { podSubnet: "10.244.0.0/16" }, hosts,
        certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: SKIPPED,
        apiServer: { readinessTimeoutSeconds: 60 }, loadBalancer: { bindAddress: LB.address }, join: { tlsBootstrapTimeoutSeconds: 0 },
        nodePreparation: { installer: "command", command: PREPARE },
    };
    new Cluster("s", spec);
    // The record is written last, once every step (the workers' joins included) succeeded.
    await runtime.registered("s-deployed-versions");
}, 600_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

const run = (name: string) => {
    const r = runner.runs.find(x => x.name === name);
    if (!r) throw new Error(`no run of ${name}: ${runner.runs.map(x => x.name).join(", ")}`);
    return r;
};
const end = (name: string) => run(name).startedAt + run(name).durationMs;
const registration = (name: string) => runtime.registrations.find(r => r.name === name)!;

/** The machine's etcdctl with cp-1's healthcheck-client certificate, against every member. */
function etcdctl(...args: string[]) {
    const pki = lab.path("cp-1", "/etc/kubernetes/pki/etcd");
    return spawnSync(realEtcdctl(), [
        `--endpoints=${CONTROL_PLANES.map(h => `https://${h.address}:2379`).join(",")}`,
        `--cacert=${pki}/ca.crt`, `--cert=${pki}/healthcheck-client.crt`, `--key=${pki}/healthcheck-client.key`, ...args,
    ], { encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 30_000 });
}

describe("Cluster in the lab: etcd stacked on 3 control planes, bare hosts prepared by the user's command", () => {
    test("every remote step succeeded; control planes one at a time, each joining etcd as a learner then promoted", () => {
        expect(runtime.failures).toEqual([]);
        expect(run("s-control-plane-cp-2-install").startedAt).toBeGreaterThanOrEqual(end("s-control-plane-cp-1-register-lb-1"));
        expect(run("s-control-plane-cp-3-install").startedAt).toBeGreaterThanOrEqual(end("s-control-plane-cp-2-register-lb-1"));
        expect(run("s-control-plane-etcd-health").startedAt).toBeGreaterThanOrEqual(end("s-control-plane-cp-3-register-lb-1"));
        expect(run("s-workers-worker-1-join").startedAt).toBeGreaterThanOrEqual(end("s-control-plane-etcd-health"));
        expect(run("s-control-plane-etcd-health").stdout).toMatch(/etcd healthy: members cp-1,cp-2,cp-3/);
        for (const cp of ["cp-2", "cp-3"]) {
            const out = run(`s-control-plane-${cp}-install`).stdout;
            expect(out).toContain(`etcd: added ${cp} (https://${HOSTS.find(h => h.name === cp)!.address}:2380) as a learner`);
            expect(out).toMatch(new RegExp(`etcd: promoted ${cp} \\(learner \\d+\\)`));
        }
        expect(run("s-control-plane-cp-1-install").stdout).not.toContain("etcd:");
    });

    test("etcd, asked with the machine's etcdctl: three voting members named after the control planes, all healthy", () => {
        const list = etcdctl("member", "list", "-w", "json");
        expect(list.stderr).toBe("");
        const members = JSON.parse(list.stdout).members as { name: string; peerURLs: string[]; isLearner?: boolean }[];
        expect(members.map(m => m.name).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        expect(members.filter(m => m.isLearner)).toEqual([]);
        for (const m of members) expect(m.peerURLs).toEqual([`https://${HOSTS.find(h => h.name === m.name)!.address}:2380`]);
        const health = etcdctl("endpoint", "health");
        expect(health.status).toBe(0);
        expect(`${health.stdout}${health.stderr}`.match(/is healthy/g)).toHaveLength(3);
        for (const cp of CONTROL_PLANES) {
            expect(lab.pods(cp.name).etcd.state).toBe("running");
            expect(lab.pods(cp.name)["kube-apiserver"].state).toBe("running");
        }
    });

    test("a second run of a joined control plane's install changes nothing and adds no member", async () => {
        const r = registration("s-control-plane-cp-3-install");
        const again = await lab.exec("cp-3", r.inputs.create, r.inputs.stdin, 120_000);
        expect(again.stderr).toBe("");
        expect(again.code).toBe(0);
        expect(again.stdout).toContain("etcd: cp-3 (https://");
        expect(again.stdout).toContain("is already a member");
        expect(again.stdout).toContain("etcd: cp-3 is a voting member");
        expect(again.stdout).toMatch(/no changes\n$/);
        expect(JSON.parse(etcdctl("member", "list", "-w", "json").stdout).members).toHaveLength(3);
    });

    test("node preparation ran the user's command once per host, with the cluster's version, then configured what it installed", async () => {
        for (const h of NODES) {
            const step = h.name.startsWith("cp") ? `s-control-plane-${h.name}-prepare` : `s-workers-${h.name}-prepare`;
            const out = run(step).stdout;
            expect(out).toContain("[prepare] installing containerd and the kubelet 1.33.2 (found: 1.33.2)");
            expect(out).toContain("[prepare] containerd configured with the systemd cgroup driver");
            expect(out).toContain("[prepare] placed /etc/systemd/system/kubelet.service");
            expect(fs.readFileSync(lab.path(h.name, "/var/lib/lab/node-preparation.log"), "utf8")).toBe("1.33.2 1.33\n");
            const toml = lab.path(h.name, "/etc/containerd/config.toml");
            expect(fs.readFileSync(toml, "utf8")).toContain("SystemdCgroup = true");
            expect((fs.statSync(toml).mode & 0o777).toString(8)).toBe("644");
            const unit = fs.readFileSync(lab.path(h.name, "/etc/systemd/system/kubelet.service"), "utf8");
            expect(unit).toMatch(/^ExecStart=\/usr\/bin\/kubelet$/m);
            expect(unit).toMatch(/^Restart=always$/m);
            // The kubelet runs from the placed unit and the kubeadm drop-in placed beside it (no package put one anywhere).
            expect(fs.existsSync(lab.path(h.name, "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"))).toBe(true);
            const active = await lab.exec(h.name, "systemctl is-active kubelet && systemctl is-active containerd");
            expect(active.stdout).toBe("active\nactive\n");
        }
        // Again on a prepared host: nothing is installed or written again.
        const again = await lab.exec("worker-1", registration("s-workers-worker-1-prepare").inputs.create);
        expect(again.code).toBe(0);
        expect(again.stdout.split("\n").filter(l => l.startsWith("[prepare]"))).toEqual(["[prepare] worker-1: prepared (command); the checks of what it provides passed"]);
        expect(again.stdout).toContain("the checks of what it provides passed");
        expect(fs.readFileSync(lab.path("worker-1", "/var/lib/lab/node-preparation.log"), "utf8")).toBe("1.33.2 1.33\n");
    });
});
