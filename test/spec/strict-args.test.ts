import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/cluster";
import { ControlPlane } from "../../components/control-plane";
import { EtcdCluster } from "../../components/etcd";
import { ClusterPki } from "../../components/pki";
import { Preflight } from "../../components/preflight";
import { WorkerJoin } from "../../components/worker-join";
import { planEtcd } from "../../spec/etcd";
import { planPki } from "../../spec/pki";
import { SpecError } from "../../spec/problems";
import { ClusterSpec } from "../../spec/types";
import { closest, componentFields, typeFields } from "../../spec/unknown-fields";
import { validateCluster } from "../../spec/validate";
import { planWorkerJoin } from "../../spec/worker-join";
import { haSpec, host, sshPrivateKey } from "../support/fixtures";
import { MockRuntime, settle } from "../support/mocks";

// Remote commands do not run here: preflights answer with a host's facts, as the real script prints them.
const FACTS = 'facts {"hostname":"%s","caCertDirs":[],"resolvConf":""}';
const runtime = new MockRuntime(async (type, _inputs, name) => {
    if (type !== "command:remote:Command") return undefined;
    const node = /-((?:cp|worker|etcd)-\d)-preflight$/.exec(name)?.[1];
    return { stdout: node ? FACTS.replace("%s", node) : "ok", stderr: "" };
});
beforeEach(() => runtime.start());

/** The problem lines a construction raised (it must raise a SpecError). */
function problemsOf(construct: () => unknown): string[] {
    let error: unknown;
    try {
        construct();
    } catch (e) {
        error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    return (error as Error).message.split("\n").slice(1).map(l => l.replace(/^ {2}- /, ""));
}

const loose = <T>(o: unknown) => o as T;
const stackedSingle = (over: Partial<ClusterSpec> = {}): ClusterSpec => ({
    kubernetesVersion: "v1.33.2", controlPlaneEndpoint: "10.0.10.11",
    hosts: [host("cp-1", "10.0.10.11", ["control-plane"]), host("worker-1", "10.0.30.21", ["worker"]), host("worker-2", "10.0.30.22", ["worker"])],
    ...over,
});

describe("unknown fields are rejected at evaluation, with the closest known name", () => {
    test("networking.podSubnets, the issue's own example, in the words the issue asks for", () => {
        const lines = problemsOf(() => new Cluster("c", haSpec({ networking: loose({ podSubnets: "10.244.0.0/16" }) })));
        expect(lines).toEqual([`networking.podSubnets: unknown field — did you mean "podSubnet"? (accepted: podSubnet, serviceSubnet, dnsDomain)`]);
        expect(runtime.named("c")).toEqual([]);
    });

    test.each<[string, (s: ClusterSpec) => void, string, string]>([
        ["a top-level typo", s => { (s as any).kubernetesVerison = "v1.33.2"; }, "kubernetesVerison", `did you mean "kubernetesVersion"?`],
        ["a field of a host, named by index and name", s => { (s.hosts[7] as any).adress = "10.0.30.99"; }, "hosts[7] (worker-2).adress", `did you mean "address"?`],
        ["an SSH field", s => { (s.hosts[2].ssh as any).hostkey = "ssh-ed25519 AAAA"; }, "hosts[2] (etcd-3).ssh.hostkey", `did you mean "hostKey"?`],
        ["a bastion field", s => { s.hosts[6].ssh.bastion = { host: "jump.example.internal", password: "x", ...loose<object>({ usr: "jump" }) }; }, "hosts[6] (worker-1).ssh.bastion.usr", `did you mean "user"?`],
        ["a flag's field", s => { s.apiServer = { extraArgs: [loose({ name: "v", vaule: "4" })] }; }, "apiServer.extraArgs[0].vaule", `did you mean "value"?`],
        ["a nested spec", s => { s.loadBalancer = { type: "haproxy", ...loose<object>({ bindAdress: "*" }) }; }, "loadBalancer.bindAdress", `did you mean "bindAddress"?`],
        ["an upgrade setting", s => { s.upgrade = loose({ maxUnavailible: 2 }); }, "upgrade.maxUnavailible", `did you mean "maxUnavailable"?`],
        ["a kubeadm v1beta3 habit", s => { s.etcd = loose({ local: { dataDir: "/data/etcd" } }); }, "etcd.local", "(accepted: topology, serverCertSANs"],
        ["a field far from every known one", s => { (s as any).colour = "blue"; }, "colour", "(accepted: kubeadmConfig, kubernetesVersion"],
    ])("%s", (_what, mutate, field, advice) => {
        const spec = haSpec();
        mutate(spec);
        const line = problemsOf(() => new Cluster("c", spec)).find(l => l.startsWith(`${field}: unknown field — `));
        expect(line).toContain(advice);
        if (field === "colour") expect(line).not.toContain("did you mean");
    });

    test("a misspelt kubeadmConfig is suggested by the Cluster; validateCluster, which takes no kubeadm config, names it unknown", () => {
        const spec = { ...haSpec(), kubeadmConfg: "apiVersion: kubeadm.k8s.io/v1beta4" };
        expect(problemsOf(() => new Cluster("c", spec))).toContainEqual(expect.stringContaining(`kubeadmConfg: unknown field — did you mean "kubeadmConfig"?`));
        expect(problemsOf(() => validateCluster({ ...haSpec(), ...loose<object>({ kubeadmConfig: "x" }) }))[0]).toMatch(/^kubeadmConfig: unknown field — (?!.*kubeadmConfig,)/);
    });

    test("secrets and other Outputs are not walked into; undefined fields are not fields", () => {
        const spec = haSpec();
        spec.hosts[0].ssh = { ...spec.hosts[0].ssh, privateKey: pulumi.secret(sshPrivateKey()) };
        (spec as any).scheduler = undefined;
        expect(() => validateCluster(spec)).not.toThrow();
    });

    test("ControlPlane and Preflight check their cluster fields", () => {
        const spec = haSpec({ networking: loose({ podSubnets: "10.244.0.0/16" }) });
        expect(problemsOf(() => new ControlPlane("cp", { ...spec, pki: loose({}) }))).toContainEqual(expect.stringMatching(/^networking\.podSubnets: unknown field — did you mean "podSubnet"\?/));
        expect(problemsOf(() => new Preflight("pf", { ...spec, caCertPem: "x" }))).toContainEqual(expect.stringMatching(/^networking\.podSubnets: unknown field/));
    });

    test("ClusterPki: its own fields, and its nodes by name", () => {
        const lines = problemsOf(() => new ClusterPki("pki", loose({
            controlPlaneEndpoint: "k8s-api.example.internal", controlPlanes: [{ name: "cp-1", address: "10.0.10.11", adress: "x" }], externalEtcd: true, kubeconfig: true,
        })));
        expect(lines).toEqual([
            `controlPlanes[0] (cp-1).adress: unknown field — did you mean "address"? (accepted: name, address)`,
            expect.stringMatching(/^kubeconfig: unknown field — did you mean "kubeconfigs"\? \(accepted: controlPlaneEndpoint, /),
        ]);
        expect(() => planPki({ controlPlaneEndpoint: "k8s-api.example.internal", controlPlanes: [{ name: "cp-1", address: "10.0.10.11" }], externalEtcd: true })).not.toThrow();
    });

    test("EtcdCluster: its own fields, its members' and its pki's", () => {
        const members = [host("etcd-1", "10.0.20.11", ["etcd"])];
        (members[0].ssh as any).prot = 2222;
        const lines = problemsOf(() => planEtcd(loose({ kubernetesVersion: "v1.33.2", members, pki: { publicFiles: {}, privateFiles: {}, nodePublicFile: {} }, dataDirectory: "/data" })));
        expect(lines).toEqual(expect.arrayContaining([
            expect.stringMatching(/^members\[0\] \(etcd-1\)\.ssh\.prot: unknown field — did you mean "port"\?/),
            expect.stringMatching(/^pki\.nodePublicFile: unknown field — did you mean "nodePublicFiles"\?/),
            expect.stringMatching(/^dataDirectory: unknown field — did you mean "dataDir"\?/),
        ]));
        expect(problemsOf(() => new EtcdCluster("etcd", loose({ kubernetesVersion: "v1.33.2", members: [host("etcd-1", "10.0.20.11", ["etcd"])], pki: {}, topolgy: "dedicated" }))))
            .toContainEqual(expect.stringMatching(/^topolgy: unknown field — did you mean "topology"\?/));
    });

    test("WorkerJoin: its own fields and its hosts' by name", () => {
        const args = {
            kubernetesVersion: "v1.33.2", controlPlaneEndpoint: "k8s-api.example.internal", token: pulumi.secret("abcdef.0123456789abcdef"),
            caCertHashes: [`sha256:${"ab".repeat(32)}`], hosts: [host("node-1", "10.0.30.31", [], loose({ criSoket: "unix:///run/containerd/containerd.sock" }))],
            tlsBootstrapTimeout: 30,
        };
        expect(problemsOf(() => planWorkerJoin(loose(args)))).toEqual(expect.arrayContaining([
            expect.stringMatching(/^hosts\[0\] \(node-1\)\.criSoket: unknown field — did you mean "criSocket"\?/),
            expect.stringMatching(/^tlsBootstrapTimeout: unknown field — did you mean "tlsBootstrapTimeoutSeconds"\?/),
        ]));
        expect(problemsOf(() => new WorkerJoin("j", loose({ ...args, tlsBootstrapTimeout: undefined, discoveryTimeout: 5 }))))
            .toContainEqual(expect.stringMatching(/^discoveryTimeout: unknown field — did you mean "discoveryTimeoutSeconds"\?/));
    });

    test("the known fields are spec/types.ts's, through schema.json (no second list)", () => {
        expect(typeFields("NetworkingSpec")).toEqual(["podSubnet", "serviceSubnet", "dnsDomain"]);
        expect(componentFields("Cluster")).toEqual(expect.arrayContaining(["hosts", "kubeadmConfig", "nodePreparation", "upgrade"]));
        expect(componentFields("EtcdCluster")).toEqual(expect.arrayContaining(["members", "pki", "dataDir", "extraArgs"]));
    });

    test("did-you-mean: typos, case, plurals and swaps; nothing when nothing is close", () => {
        const known = ["podSubnet", "serviceSubnet", "dnsDomain"];
        expect(closest("podSubnets", known)).toBe("podSubnet");
        expect(closest("PodSubnet", known)).toBe("podSubnet");
        expect(closest("dnsDomian", known)).toBe("dnsDomain");
        expect(closest("serviceCIDR", known)).toBeUndefined();
        expect(closest("mtu", known)).toBeUndefined();
    });
});

describe("host errors name the host", () => {
    test("every hosts[i] field is reported as hosts[i] (name)", () => {
        const spec = haSpec();
        spec.hosts[2].ssh.port = 0;
        spec.hosts[7].criSocket = "/run/containerd.sock";
        spec.hosts[8].address = "10.0.10.11";
        const lines = problemsOf(() => new Cluster("c", spec));
        expect(lines).toEqual(expect.arrayContaining([
            expect.stringMatching(/^hosts\[2\] \(etcd-3\)\.ssh\.port: 0/),
            expect.stringMatching(/^hosts\[7\] \(worker-2\)\.criSocket:/),
            expect.stringMatching(/^hosts\[8\] \(lb-1\)\.address: "10\.0\.10\.11" — an address no other host has \(hosts\[3\] \(cp-1\) has it too\)/),
        ]));
        expect(lines.filter(l => /^hosts\[\d+\]\./.test(l))).toEqual([]);
    });

    test("an EtcdCluster's members too", () => {
        const members = [host("etcd-1", "10.0.20.11", ["etcd"], { criSocket: "containerd" })];
        expect(problemsOf(() => planEtcd(loose({ kubernetesVersion: "v1.33.2", members, pki: {} })))).toEqual([expect.stringMatching(/^members\[0\] \(etcd-1\)\.criSocket:/)]);
    });
});

describe("with no load balancer, the endpoint is a control plane's own kube-apiserver", () => {
    test("a port other than apiServer.bindPort is rejected, saying why", () => {
        const lines = problemsOf(() => new Cluster("c", stackedSingle({ controlPlaneEndpoint: "10.0.10.11:8443" })));
        expect(lines).toEqual([expect.stringMatching(/^controlPlaneEndpoint: "10\.0\.10\.11:8443" — port 6443 \(apiServer\.bindPort\), or no port: with loadBalancer\.type "none" .*listens on apiServer\.bindPort/)]);
        expect(problemsOf(() => new Cluster("c2", stackedSingle({ controlPlaneEndpoint: "10.0.10.11:6443", apiServer: { bindPort: 8443 }, loadBalancer: { type: "none" } }))))
            .toEqual([expect.stringMatching(/^controlPlaneEndpoint: "10\.0\.10\.11:6443" — port 8443 \(apiServer\.bindPort\)/)]);
    });

    test("the same port, or none, passes; an external load balancer may map ports", () => {
        expect(() => validateCluster(stackedSingle({ controlPlaneEndpoint: "10.0.10.11:6443" }))).not.toThrow();
        expect(() => validateCluster(stackedSingle({ controlPlaneEndpoint: "10.0.10.11" }))).not.toThrow();
        expect(validateCluster(stackedSingle({ controlPlaneEndpoint: "10.0.10.11:8443", apiServer: { bindPort: 8443 } })).endpoint.port).toBe(8443);
        expect(() => validateCluster(stackedSingle({
            controlPlaneEndpoint: "k8s-api.example.internal:443",
            loadBalancer: { type: "external", external: { registerCommand: "lb add {{address}} {{port}}", deregisterCommand: "lb rm {{address}}" } },
        }))).not.toThrow();
    });
});

describe("even etcd sizes", () => {
    const dedicated = (n: number) => {
        const spec = haSpec();
        spec.hosts = spec.hosts.filter(h => !h.roles.includes("etcd"));
        for (let i = 1; i <= n; i++) spec.hosts.push(host(`etcd-${i}`, `10.0.20.${10 + i}`, ["etcd"]));
        return spec;
    };
    const warned = async (construct: () => unknown) => {
        const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
        try {
            construct();
            await settle();
            return warn.mock.calls.map(c => String(c[0])).filter(m => m.includes("etcd has"));
        } finally {
            warn.mockRestore();
        }
    };

    test("two dedicated etcd hosts are rejected, with the quorum arithmetic (Cluster and EtcdCluster alike)", () => {
        expect(problemsOf(() => new Cluster("c", dedicated(2)))).toEqual([
            expect.stringMatching(/^hosts\[\]\.roles: \["etcd-1","etcd-2"\] — 1, 3, 5 or 7 dedicated etcd hosts: 2 members need both for a quorum \(2 of 2\), so they tolerate no failure/),
        ]);
        const members = [host("etcd-1", "10.0.20.11", ["etcd"]), host("etcd-2", "10.0.20.12", ["etcd"])];
        expect(problemsOf(() => planEtcd(loose({ kubernetesVersion: "v1.33.2", members, pki: {} })))).toEqual([expect.stringMatching(/^members: \["etcd-1","etcd-2"\] — 1, 3, 5 or 7 dedicated etcd hosts/)]);
    });

    test("four dedicated etcd hosts deploy with one warning, not two, that gives the arithmetic", async () => {
        const warnings = await warned(() => new Cluster("c", dedicated(4)));
        expect(warnings).toEqual([
            "etcd has 4 members: a quorum is 3 of 4, so it tolerates 1 failed member, as 3 members (quorum 2) do: the 4th member adds a host whose failure counts against the quorum but no fault tolerance. etcd recommends an odd count: 3 or 5 members.",
        ]);
    });

    test("two stacked members (two control planes, e.g. while adding a third) are a warning, once", async () => {
        const spec = stackedSingle({ controlPlaneEndpoint: "10.0.10.11", loadBalancer: { type: "none" } });
        spec.hosts.push(host("cp-2", "10.0.10.12", ["control-plane"]));
        expect(validateCluster(spec).warnings).toEqual([
            "etcd has 2 members (stacked on the 2 control planes): a quorum is 2 of 2, so it tolerates 0 failed members, as 1 member (quorum 1) does: the 2nd member adds a host whose failure counts against the quorum but no fault tolerance. etcd recommends an odd count: 1 or 3 control planes (an even count is fine while adding or replacing one).",
        ]);
        expect(await warned(() => new Cluster("c", spec))).toHaveLength(1);
    });

    test("odd sizes and external etcd say nothing", () => {
        expect(validateCluster(haSpec()).warnings.filter(w => w.includes("etcd has"))).toEqual([]);
        const external = haSpec({ etcd: { topology: "external", external: { endpoints: ["https://10.0.0.5:2379", "https://10.0.0.6:2379"], caCert: "x", clientCert: "y", clientKey: "z" } } });
        external.hosts = external.hosts.filter(h => !h.roles.includes("etcd"));
        expect(validateCluster(external).warnings.filter(w => w.includes("etcd has"))).toEqual([]);
    });
});
