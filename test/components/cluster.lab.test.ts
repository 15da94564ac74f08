import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { Cluster } from "../../components/cluster";
import { ClusterSpec, HostSpec } from "../../spec/types";
import { Lab, labHosts } from "../lab/lab";
import { LabCommandRunner } from "../lab/runtime";
import { MockRuntime, valueOf } from "../support/mocks";

// The full shape: 3 dedicated etcd hosts, 3 control planes, 2 workers and a load balancer running
// Debian's haproxy, all real sshd + bash. There is no kube-apiserver binary here, so nothing is
// created through the API (the mock runtime records those objects) and the workers do not wait
// for a TLS bootstrap that no API server could answer (join.tlsBootstrapTimeoutSeconds: 0).
const HOSTS = labHosts(["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "lb-1"]);
const LB = HOSTS.find(h => h.name === "lb-1")!;
const ENDPOINT = `${LB.address}:6443`;
const WORKERS = HOSTS.filter(h => h.name.startsWith("worker"));
const SKIPPED = ["FileExisting-crictl", "FileContent--proc-sys-net-ipv4-ip_forward", "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables"];
const role = (name: string) => (name.startsWith("etcd") ? "etcd" : name.startsWith("cp") ? "control-plane" : name.startsWith("worker") ? "worker" : "load-balancer");

let lab: Lab;
let runner: LabCommandRunner;
let runtime: MockRuntime;
let cluster: Cluster;

beforeAll(async () => {
    lab = await Lab.start(HOSTS);
    runner = new LabCommandRunner(lab);
    runtime = await new MockRuntime(runner.handle).start();
    const hosts: HostSpec[] = HOSTS.map(h => ({
        name: h.name, address: h.address, roles: [role(h.name)],
        ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey) },
    }));
    const spec: ClusterSpec = {
        kubernetesVersion: "v1.33.2", controlPlaneEndpoint: ENDPOINT, networking: { podSubnet: "10.244.0.0/16" }, hosts,
        etcd: { topology: "dedicated" }, certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: SKIPPED,
        apiServer: { readinessTimeoutSeconds: 60 }, loadBalancer: { bindAddress: LB.address }, join: { tlsBootstrapTimeoutSeconds: 0 },
    };
    cluster = new Cluster("c", spec);
    await runtime.registered("c-addons-service-kube-system-kube-dns");
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
            expect(fs.readFileSync(lab.path(w.name, "/var/lib/kubelet/kubeadm-flags.env"), "utf8")).toMatch(/^KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:\/\/\/var\/run\/containerd\/containerd.sock --pod-infra-container-image=registry.k8s.io\/pause:[^ ]+"\n$/);
            // No private key of the worker anywhere: the kubelet makes its own in the TLS bootstrap.
            expect(fs.existsSync(lab.path(w.name, "/etc/kubernetes/kubelet.conf"))).toBe(false);
        }
    });

    test("the join command names the endpoint, the token and the CA hash", async () => {
        const token = runtime.registrations.find(r => r.name === "c-objects-bootstrap-token-0")!.inputs.stringData;
        expect(await valueOf(cluster.joinCommand)).toBe(`kubeadm join ${ENDPOINT} --token ${token["token-id"]}.${token["token-secret"]} --discovery-token-ca-cert-hash ${await valueOf(cluster.discoveryTokenCaCertHash)}`);
    });
});
