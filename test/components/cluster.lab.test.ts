import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { Cluster } from "../../components/cluster";
import { Preflight } from "../../components/preflight";
import { WorkerJoin } from "../../components/worker-join";
import { kubeadmDropIn } from "../../render/kubelet";
import { discoveryJoinScript } from "../../render/worker";
import { ClusterSpec, HostSpec } from "../../spec/types";
import { Lab, labHosts } from "../lab/lab";
import { LabCommandRunner } from "../lab/runtime";
import { MockRuntime, valueOf } from "../support/mocks";
import { LAB_SKIPS } from "../../scripts/rehearsal-config";

// The full shape: 3 dedicated etcd hosts, 3 control planes, 2 workers and a load balancer running
// Debian's haproxy, all real sshd + bash. There is no kube-apiserver binary here, so nothing is
// created through the API (the mock runtime records those objects) and the workers do not wait
// for a TLS bootstrap that no API server could answer (join.tlsBootstrapTimeoutSeconds: 0).
// Two more hosts are not in the spec: they join later by token discovery alone (WorkerJoin).
const ALL_HOSTS = labHosts(["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "lb-1", "extra-1", "extra-2"]);
const HOSTS = ALL_HOSTS.filter(h => !h.name.startsWith("extra"));
const LB = HOSTS.find(h => h.name === "lb-1")!;
const ENDPOINT = `${LB.address}:6443`;
const WORKERS = HOSTS.filter(h => h.name.startsWith("worker"));
const SKIPPED = LAB_SKIPS;
const role = (name: string) => (name.startsWith("etcd") ? "etcd" : name.startsWith("cp") ? "control-plane" : name.startsWith("worker") ? "worker" : "load-balancer");

let lab: Lab;
let runner: LabCommandRunner;
let runtime: MockRuntime;
let cluster: Cluster;
let spec: ClusterSpec;
const hostSpec = (name: string): HostSpec => {
    const h = ALL_HOSTS.find(x => x.name === name)!;
    return { name, address: h.address, roles: [role(name)], ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(h.name) } };
};

beforeAll(async () => {
    lab = await Lab.start(ALL_HOSTS);
    runner = new LabCommandRunner(lab);
    runtime = await new MockRuntime(runner.handle).start();
    const hosts: HostSpec[] = HOSTS.map(h => hostSpec(h.name));
    spec = {
        kubernetesVersion: "v1.33.2", controlPlaneEndpoint: ENDPOINT, networking: { podSubnet: "10.244.0.0/16" }, hosts,
        etcd: { topology: "dedicated" }, certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: SKIPPED,
        apiServer: { readinessTimeoutSeconds: 60 }, loadBalancer: { bindAddress: LB.address }, join: { tlsBootstrapTimeoutSeconds: 0 },
    };
    cluster = new Cluster("c", spec);
    // The record is written last, once every step (the workers' joins included) succeeded.
    await runtime.registered("c-deployed-versions");
}, 600_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

describe("Cluster in the lab: 3 etcd + 3 control planes + 2 workers + 1 HAProxy host", () => {
    test("every remote step succeeded, in kubeadm's order; etcd is healthy", () => {
        expect(runtime.failures).toEqual([]);
        const names = runner.runs.map(r => r.name);
        for (const h of HOSTS.filter(x => x.name !== "lb-1")) expect(names).toContain(`${h.name.startsWith("etcd") ? "c-etcd" : h.name.startsWith("cp") ? "c-control-plane" : "c-workers"}-${h.name}-preflight`);
        const start = (n: string) => runner.runs.find(r => r.name === n)!.startedAt;
        const end = (n: string) => { const r = runner.runs.find(x => x.name === n)!; return r.startedAt + r.durationMs; };
        const preflightsDone = Math.max(...runner.runs.filter(r => r.name.endsWith("-preflight")).map(r => r.startedAt + r.durationMs));
        expect(start("c-etcd-etcd-1-install")).toBeGreaterThanOrEqual(preflightsDone);
        expect(start("c-control-plane-cp-1-install")).toBeGreaterThanOrEqual(end("c-etcd-health"));
        for (const w of WORKERS) expect(start(`c-workers-${w.name}-join`)).toBeGreaterThanOrEqual(end("c-control-plane-cp-3-register-lb-1"));
        expect(runner.runs.find(r => r.name === "c-etcd-health")!.stdout).toMatch(/etcd healthy/);
    });

    test("each worker's bootstrap-kubelet.conf names the endpoint and the CA, with the token of the bootstrap-token Secret", async () => {
        const token = runtime.registrations.find(r => r.name === "c-objects-bootstrap-token-0")!.inputs.stringData;
        const ca = await valueOf(cluster.caCertPem);
        for (const w of WORKERS) {
            const file = lab.path(w.name, "/etc/kubernetes/bootstrap-kubelet.conf");
            expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("600");
            const kc = yaml.load(fs.readFileSync(file, "utf8")) as any;
            expect(kc.clusters[0]).toEqual({ name: "kubernetes", cluster: { server: `https://${ENDPOINT}`, "certificate-authority-data": Buffer.from(ca).toString("base64") } });
            expect(kc.users[0]).toEqual({ name: "tls-bootstrap-token-user", user: { token: `${token["token-id"]}.${token["token-secret"]}` } });
            expect(kc["current-context"]).toBe("tls-bootstrap-token-user@kubernetes");
            expect(fs.readFileSync(lab.path(w.name, "/etc/kubernetes/pki/ca.crt"), "utf8")).toBe(ca);
            const config = yaml.load(fs.readFileSync(lab.path(w.name, "/var/lib/kubelet/config.yaml"), "utf8")) as any;
            expect(config).toMatchObject({ kind: "KubeletConfiguration", clusterDNS: ["10.96.0.10"], authentication: { x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" } } });
            expect(fs.readFileSync(lab.path(w.name, "/var/lib/kubelet/kubeadm-flags.env"), "utf8")).toMatch(new RegExp(`^KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:[^ ]+ --node-ip=${w.address.replace(/\./g, "\\.")}"\n$`));
            // No private key of the worker anywhere: the kubelet makes its own in the TLS bootstrap.
            expect(fs.existsSync(lab.path(w.name, "/etc/kubernetes/kubelet.conf"))).toBe(false);
        }
    });

    test("the join command names the endpoint, the token and the CA hash", async () => {
        const token = runtime.registrations.find(r => r.name === "c-objects-bootstrap-token-0")!.inputs.stringData;
        expect(await valueOf(cluster.joinCommand)).toBe(`kubeadm join ${ENDPOINT} --token ${token["token-id"]}.${token["token-secret"]} --discovery-token-ca-cert-hash ${await valueOf(cluster.discoveryTokenCaCertHash)}`);
    });
});

// kubeadm join with token discovery against the lab's API stand-in, which serves the ConfigMaps the
// Cluster created (as the mock recorded them) with cluster-info signed by the token, as
// kube-controller-manager's bootstrapsigner signs it (the signature checked here with openssl).
describe("WorkerJoin: a node joins the running cluster from its endpoint, CA hash and token alone", () => {
    let token: string;
    let caHash: string;
    const configMap = (name: string) => runtime.registrations.find(r => r.name === `c-objects-configmap-${name}`)!.inputs;
    beforeAll(async () => {
        const data = runtime.registrations.find(r => r.name === "c-objects-bootstrap-token-0")!.inputs.stringData;
        token = `${data["token-id"]}.${data["token-secret"]}`;
        caHash = await valueOf(cluster.discoveryTokenCaCertHash);
        for (const cp of ["cp-1", "cp-2", "cp-3"]) {
            for (const [ns, name] of [["kube-public", "cluster-info"], ["kube-system", "kubeadm-config"], ["kube-system", "kubelet-config"]]) {
                const file = lab.path(cp, `/var/lib/lab/api/${ns}/configmaps/${name}.json`);
                fs.mkdirSync(path.dirname(file), { recursive: true });
                fs.writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", ...configMap(`${ns}-${name}`) }));
            }
            fs.writeFileSync(lab.path(cp, "/var/lib/lab/api/tokens"), `${token}\n`);
        }
    }, 60_000);

    test("cluster-info's signature is the token's HMAC-SHA256 (openssl)", () => {
        const info = configMap("kube-public-cluster-info").data;
        const [header, , signature] = info[`jws-kubeconfig-${token.slice(0, 6)}`].split(".");
        const mac = execFileSync("openssl", ["dgst", "-sha256", "-hmac", token.slice(7), "-binary"],
            { input: `${header}.${Buffer.from(info.kubeconfig).toString("base64url")}` });
        expect(Buffer.from(mac).toString("base64url")).toBe(signature);
    });

    const script = (pins: string[], discoveryTimeoutSeconds = 20) => discoveryJoinScript({
        host: "extra-2", step: "worker join", node: hostSpec("extra-2"), version: "v1.33.2", minor: "1.33", minimumKubeletVersion: "v1.30.0",
        certificatesDir: "/etc/kubernetes/pki", endpoint: ENDPOINT, caCertHashes: pins, files: [], kubeadmDropIn: kubeadmDropIn(),
        ignore: SKIPPED, tlsBootstrapTimeoutSeconds: 0, discoveryTimeoutSeconds,
    });
    const nothingPlaced = () => {
        for (const f of ["/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/bootstrap-kubelet.conf", "/var/lib/kubelet/config.yaml"]) expect([f, fs.existsSync(lab.path("extra-2", f))]).toEqual([f, false]);
    };

    test("a CA hash that is not the cluster's stops the join before anything is placed, naming both hashes", async () => {
        const wrong = `sha256:${"0".repeat(64)}`;
        const r = await lab.exec("extra-2", script([wrong]), `${token}\n`);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`[extra-2] worker join: the CA that https://${ENDPOINT} presents in cluster-info has the public key hash ${caHash}, which is none of caCertHashes (${wrong})`);
        nothingPlaced();
    });

    test("a token the cluster does not know, or with a wrong secret, stops discovery once its time is up", async () => {
        const unknown = await lab.exec("extra-2", script([caHash], 1), "zzzzzz.0123456789abcdef\n");
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toContain("gave up after 1s: cluster-info has no signature for token id zzzzzz");
        const wrongSecret = await lab.exec("extra-2", script([caHash], 1), `${token.slice(0, 7)}${"0".repeat(16)}\n`);
        expect(wrongSecret.code).toBe(1);
        expect(wrongSecret.stderr).toContain(`cluster-info's signature for token id ${token.slice(0, 6)} does not verify with this token`);
        nothingPlaced();
    }, 60_000);

    test("the join places what kubeadm join would: the same files as a worker the Cluster joined, config.yaml from kubelet-config", async () => {
        new WorkerJoin("extra", {
            kubernetesVersion: "v1.33.2", controlPlaneEndpoint: ENDPOINT, token: pulumi.secret(token), caCertHashes: [caHash],
            hosts: [hostSpec("extra-1")], ignorePreflightErrors: SKIPPED, tlsBootstrapTimeoutSeconds: 0,
        });
        await runtime.registered("extra-extra-1-join");
        expect(runtime.failures).toEqual([]);
        const join = runner.runs.find(r => r.name === "extra-extra-1-join")!;
        expect(join.stdout).toContain(`discovery: cluster-info signed for token ${token.slice(0, 6)}, CA pinned, server https://${ENDPOINT}`);
        expect(join.command).not.toContain(token.slice(7));
        const read = (host: string, f: string) => fs.readFileSync(lab.path(host, f), "utf8");
        for (const f of ["/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/pki/ca.crt", "/var/lib/kubelet/kubeadm-flags.env", "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"]) {
            if (!fs.existsSync(lab.path("worker-1", f))) continue;
            // The same but for the node's own address (--node-ip in kubeadm-flags.env).
            const same = read("worker-1", f).replace(`--node-ip=${hostSpec("worker-1").address}"`, `--node-ip=${hostSpec("extra-1").address}"`);
            expect([f, read("extra-1", f)]).toEqual([f, same]);
        }
        expect(read("extra-1", "/var/lib/kubelet/kubeadm-flags.env")).toContain(` --node-ip=${hostSpec("extra-1").address}"`);
        expect((fs.statSync(lab.path("extra-1", "/etc/kubernetes/bootstrap-kubelet.conf")).mode & 0o777).toString(8)).toBe("600");
        expect(read("extra-1", "/var/lib/kubelet/config.yaml")).toBe(configMap("kube-system-kubelet-config").data.kubelet);
        expect(yaml.load(read("extra-1", "/var/lib/kubelet/config.yaml"))).toEqual(yaml.load(read("worker-1", "/var/lib/kubelet/config.yaml")));
        expect(lab.systemctlCalls("extra-1").some(c => c.includes("restart kubelet"))).toBe(true);
    });

    test("run again, the join changes nothing", async () => {
        const again = runner.runs.find(r => r.name === "extra-extra-1-join")!;
        const r = await lab.exec("extra-1", again.command, `${token}\n`);
        expect(r.stderr).toBe("");
        expect(r.stdout).toMatch(/no changes\n$/);
    });
});

// Runs last: its failing half leaves the runtime failed.
describe("Preflight alone, on the running cluster's hosts", () => {
    test("given the cluster's CAs, every host passes: its own etcd, API server and kubelet are recognised", async () => {
        const caCertPem = await valueOf(cluster.caCertPem);
        const etcdCaCertPem = fs.readFileSync(lab.path("etcd-1", "/etc/kubernetes/pki/etcd/ca.crt"), "utf8");
        const p = new Preflight("pf-ours", { ...spec, caCertPem, etcdCaCertPem });
        const reports = await Promise.race([valueOf(p.reports), runtime.failure]);
        expect(Object.keys(reports).sort()).toEqual(["cp-1/control-plane", "cp-2/control-plane", "cp-3/control-plane", "etcd-1/etcd", "etcd-2/etcd", "etcd-3/etcd", "worker-1/worker", "worker-2/worker"]);
        for (const [k, out] of Object.entries(reports)) expect([k, out]).toEqual([k, expect.stringContaining(`[preflight] ${k.split("/")[0]}: all checks passed`)]);
        expect(runner.runs.filter(r => r.name.startsWith("pf-ours-")).every(r => r.exitCode === 0)).toBe(true);
    }, 120_000);

    test("without them, the hosts that run a cluster fail with every check named and its fix; nothing is changed", async () => {
        const before = fs.readFileSync(lab.path("cp-1", "/etc/kubernetes/manifests/kube-apiserver.yaml"), "utf8");
        new Preflight("pf-new", spec);
        await expect(runtime.failure).rejects.toThrow(/pf-new-/);
        await new Promise(r => setTimeout(r, 5000));
        const cp1 = runner.runs.find(r => r.name === "pf-new-cp-1-control-plane")!;
        expect(cp1.exitCode).toBe(1);
        // kubeadm init's checks: another cluster's manifests and its API server's port.
        expect(cp1.stderr).toContain("[cp-1] control-plane preflight: 4 check(s) failed:");
        for (const m of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
            expect(cp1.stderr).toContain(`  - FileAvailable--etc-kubernetes-manifests-${m}.yaml: /etc/kubernetes/manifests/${m}.yaml already exists and this host runs no control plane of this cluster`);
        }
        expect(cp1.stderr).toMatch(new RegExp(`  - Port-6443: port 6443 is in use on ${ALL_HOSTS.find(h => h.name === "cp-1")!.address.replace(/\./g, "\\.")} .* and this control plane of this cluster is not what runs there; stop what listens there`));
        const etcd1 = runner.runs.find(r => r.name === "pf-new-etcd-1-etcd")!;
        // (etcd's metrics port 2381 is on 127.0.0.1, which the lab moves to each host's own loopback address.)
        expect(etcd1.stderr).toMatch(/Port-2379: .*\n  - Port-2380: .*\n  - DirAvailable--var-lib-etcd: \/var\/lib\/etcd is not empty/);
        // kubeadm join's checks: the node's bootstrap kubeconfig and CA from a cluster it was not told about.
        const worker1 = runner.runs.find(r => r.name === "pf-new-worker-1-worker")!;
        expect(worker1.exitCode).toBe(1);
        expect(worker1.stderr).toContain("[worker-1] worker preflight: 2 check(s) failed:");
        for (const f of ["/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/pki/ca.crt"]) {
            expect(worker1.stderr).toContain(`  - FileAvailable-${f.replace(/\//g, "-")}: ${f} already exists and /etc/kubernetes/pki/ca.crt is not this cluster's CA`);
        }
        expect(fs.readFileSync(lab.path("cp-1", "/etc/kubernetes/manifests/kube-apiserver.yaml"), "utf8")).toBe(before);
    }, 120_000);
});
