import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { clusterConfiguration } from "../../render/cluster-configuration";
import { discoveryTokenCaCertHash } from "../../render/discovery";
import { clusterSpecFromKubeadmConfig, importKubeadmConfig } from "../../spec/kubeadm-config";
import { SpecError } from "../../spec/problems";
import { Cluster } from "../../components/cluster";
import { validateCluster } from "../../spec/validate";
import { haSpec } from "../support/fixtures";
import { MockRuntime } from "../support/mocks";
import { opensslCa } from "../support/openssl";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../fixtures/kubeadm-config", name), "utf8");
const runtime = new MockRuntime();
beforeEach(() => runtime.start());

const programHosts = () => haSpec().hosts;

describe("kubeadm config import: accepted apiVersions", () => {
    test("kubeadm.k8s.io/v1beta4 Init + Cluster + KubeletConfiguration (HA, external etcd run as dedicated hosts)", () => {
        const { spec, imported, warnings } = clusterSpecFromKubeadmConfig(fixture("v1beta4-ha.yaml"), { hosts: programHosts() });
        expect(imported.apiVersion).toBe("kubeadm.k8s.io/v1beta4");
        expect(spec).toMatchObject({
            kubernetesVersion: "v1.34.12",
            clusterName: "prod-eu1",
            controlPlaneEndpoint: "k8s-api.example.internal:6443",
            imageRepository: "registry.k8s.io",
            networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" },
            etcd: { topology: "dedicated" },
            certificates: { certificatesDir: "/etc/kubernetes/pki", encryptionAlgorithm: "ECDSA-P256", validityHours: 8760, caValidityHours: 87600 },
            controlPlaneTaints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
            bootstrapTokens: [{ token: "abcdef.0123456789abcdef", ttl: "24h0m0s", usages: ["signing", "authentication"], groups: ["system:bootstrappers:kubeadm:default-node-token"] }],
            apiServer: { readinessTimeoutSeconds: 240, bindPort: 6443, certSANs: ["k8s-api.example.internal", "10.0.10.10", "10.0.10.11", "10.0.10.12", "10.0.10.13"] },
            kubelet: { config: { cgroupDriver: "systemd", serverTLSBootstrap: true, maxPods: 110 } },
            scheduler: { extraArgs: [{ name: "bind-address", value: "0.0.0.0" }] },
        });
        expect(spec.etcd!.external).toBeUndefined();
        expect(spec.apiServer!.extraArgs).toContainEqual({ name: "audit-log-path", value: "/var/log/kubernetes/audit/audit.log" });
        expect(spec.apiServer!.extraVolumes).toContainEqual({ name: "audit-logs", hostPath: "/var/log/kubernetes/audit", mountPath: "/var/log/kubernetes/audit", readOnly: false, pathType: "DirectoryOrCreate" });
        // node-ip restated cp-1's own address, which pulumi-kubeadm sets anyway; the label stays on cp-1 only.
        expect(spec.hosts.find(h => h.name === "cp-1")!.kubeletExtraArgs).toEqual([{ name: "node-labels", value: "topology.kubernetes.io/zone=zone-a" }]);
        expect(spec.hosts.find(h => h.name === "cp-2")!.kubeletExtraArgs).toBeUndefined();
        expect(warnings.join("\n")).toContain("/etc/kubernetes/pki/etcd/ca.crt");
        const resolved = validateCluster(spec);
        expect(resolved.etcdMembers.map(h => h.name)).toEqual(["etcd-1", "etcd-2", "etcd-3"]);
    });

    test("v1beta4 external etcd without etcd hosts asks for the files' contents", () => {
        const hosts = programHosts().filter(h => !h.roles.includes("etcd"));
        const { spec } = clusterSpecFromKubeadmConfig(fixture("v1beta4-ha.yaml"), { hosts });
        expect(() => validateCluster(spec)).toThrow(/etcd\.external\.caCert: "" — a PEM certificate/);
        const supplied = clusterSpecFromKubeadmConfig(fixture("v1beta4-ha.yaml"), {
            hosts, etcd: { external: { endpoints: ["https://10.0.20.11:2379"], caCert: "ca", clientCert: "cert", clientKey: "key" } },
        });
        expect(validateCluster(supplied.spec).etcdTopology).toBe("external");
        expect(supplied.spec.etcd!.external!.endpoints).toEqual(["https://10.0.20.11:2379"]);
    });

    test("kubeadm.k8s.io/v1beta3 with stacked etcd, map-style extraArgs and KubeProxyConfiguration", () => {
        const hosts = programHosts().filter(h => !h.roles.includes("etcd"));
        const { spec } = clusterSpecFromKubeadmConfig(fixture("v1beta3-stacked.yaml"), { hosts });
        expect(spec).toMatchObject({
            kubernetesVersion: "v1.33.7",
            etcd: { topology: "stacked", dataDir: "/var/lib/etcd", serverCertSANs: ["cp-1.example.internal", "10.0.10.11"] },
            featureGates: { ControlPlaneKubeletLocalMode: true },
            certificates: { encryptionAlgorithm: "ECDSA-P256" },
            apiServer: { readinessTimeoutSeconds: 240, certSANs: ["k8s-api.example.internal", "10.0.10.10"] },
            dns: { imageRepository: "registry.k8s.io/coredns" },
            proxy: { config: { mode: "ipvs", ipvs: { scheduler: "rr", strictARP: true } } },
        });
        expect(spec.featureGates).not.toHaveProperty("PublicKeysECDSA");
        expect(spec.etcd!.extraArgs).toContainEqual({ name: "auto-compaction-retention", value: "8" });
        expect(spec.apiServer!.extraArgs).toContainEqual({ name: "service-node-port-range", value: "30000-32767" });
        expect(spec.hosts.find(h => h.name === "cp-1")!.kubeletExtraArgs).toEqual([{ name: "cgroup-driver", value: "systemd" }]);
        expect(validateCluster(spec).etcdMembers.map(h => h.name)).toEqual(["cp-1", "cp-2", "cp-3"]);
    });

    test("kubeadm.k8s.io/v1beta4 JoinConfiguration: the worker's registration, and discovery honoured against the cluster's CA", () => {
        const ca = opensslCa("kubernetes");
        const pin = discoveryTokenCaCertHash(ca.certPem);
        const text = fixture("v1beta4-join.yaml").replace(/sha256:0123456789abcdef\w+/, pin);
        const { spec, imported } = clusterSpecFromKubeadmConfig(text, { ...haSpec(), certificates: { ca }, hosts: programHosts() });
        expect(imported.join).toEqual({ controlPlane: false, token: "abcdef.0123456789abcdef", apiServerEndpoint: "k8s-api.example.internal:6443", caCertHashes: [pin] });
        expect(spec.bootstrapTokens).toEqual([{ token: "abcdef.0123456789abcdef" }]);
        expect(spec.hosts.find(h => h.name === "worker-1")!.kubeletExtraArgs).toEqual([{ name: "node-labels", value: "node.example.internal/pool=general" }]);
        expect(spec.hosts.find(h => h.name === "worker-1")!.criSocket).toBe("unix:///var/run/containerd/containerd.sock");
        expect(() => validateCluster(spec)).not.toThrow();
    });

    test("JoinConfiguration CA pins that the cluster's CA does not match, or with no CA given, are errors", () => {
        expect(() => clusterSpecFromKubeadmConfig(fixture("v1beta4-join.yaml"), { ...haSpec(), hosts: programHosts() }))
            .toThrow(/caCertHashes: \["sha256:0123456789abcdef\w+"\] — certificates\.ca given as PEM text: the hashes pin an existing CA/);
        expect(() => clusterSpecFromKubeadmConfig(fixture("v1beta4-join.yaml"), { ...haSpec(), certificates: { ca: opensslCa("kubernetes") }, hosts: programHosts() }))
            .toThrow(/caCertHashes: .* — a pin of certificates\.ca, whose hash is sha256:[0-9a-f]{64}/);
        const elsewhere = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: k8s-api.example.internal:6443\n";
        expect(() => clusterSpecFromKubeadmConfig(elsewhere, { ...haSpec({ controlPlaneEndpoint: "api.other.internal:6443" }), hosts: programHosts() }))
            .toThrow(/apiServerEndpoint: "k8s-api\.example\.internal:6443" — the cluster's controlPlaneEndpoint \(api\.other\.internal:6443\)/);
    });

    test("legacy kubeadm.k8s.io/v1alpha1 MasterConfiguration (kubeadm 1.10)", () => {
        const hosts = programHosts().map(h => (h.name === "cp-1" ? { ...h, name: "master-1" } : h));
        const { spec, warnings } = clusterSpecFromKubeadmConfig(fixture("v1alpha1-master.yaml"), {
            hosts, kubernetesVersion: "v1.33.2", controlPlaneEndpoint: "k8s-api.example.internal:6443", imageRepository: "registry.k8s.io",
        });
        expect(spec).toMatchObject({
            kubernetesVersion: "v1.33.2",
            networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" },
            etcd: { topology: "dedicated" },
            bootstrapTokens: [{ token: "abcdef.0123456789abcdef", ttl: "0s" }],
            certificates: { certificatesDir: "/etc/kubernetes/pki" },
            apiServer: { bindPort: 6443, certSANs: ["k8s-api.example.internal", "10.0.10.10", "10.0.10.11", "10.0.10.12", "10.0.10.13", "127.0.0.1"] },
        });
        expect(spec.apiServer!.extraArgs).toEqual(expect.arrayContaining([
            { name: "apiserver-count", value: "3" }, { name: "authorization-mode", value: "Node,RBAC" },
        ]));
        expect(spec.controllerManager!.extraArgs).toContainEqual({ name: "node-monitor-grace-period", value: "40s" });
        expect(warnings.join("\n")).toContain("kubernetesVersion v1.10.13; the program's v1.33.2 is used");
        expect(validateCluster(spec).etcdMembers).toHaveLength(3);
    });
});

describe("kubeadm config import: fields that cannot be honoured are errors, never dropped", () => {
    const v4 = (body: string) => `apiVersion: kubeadm.k8s.io/v1beta4\n${body}`;
    const rejectedFields: [string, string, RegExp][] = [
        ["self-hosted v1alpha1 control plane", fixture("v1alpha1-selfhosted.yaml"),
            /MasterConfiguration\.featureGates\.SelfHosting: true — false: self-hosted control planes were removed[\s\S]*MasterConfiguration\.featureGates\.StoreCertsInSecrets: true[\s\S]*MasterConfiguration\.selfHosted: true — only kubeadm's default \(false\)/],
        ["a misspelt field", v4("kind: ClusterConfiguration\napiServer:\n  extraArg:\n    - {name: v, value: \"2\"}\n"),
            /ClusterConfiguration\.apiServer\.extraArg: .* — a field of kubeadm\.k8s\.io\/v1beta4 ClusterConfiguration pulumi-kubeadm knows/],
        ["a misspelt field inside etcd.local", v4("kind: ClusterConfiguration\netcd:\n  local:\n    dataDri: /data/etcd\n"),
            /ClusterConfiguration\.etcd\.local\.dataDri: "\/data\/etcd" — a field of kubeadm\.k8s\.io\/v1beta4 ClusterConfiguration/],
        ["a misspelt field inside a volume", v4("kind: ClusterConfiguration\napiServer:\n  extraVolumes:\n    - {name: audit, hostPath: /var/log/a, mountPath: /var/log/a, readonly: true}\n"),
            /ClusterConfiguration\.apiServer\.extraVolumes\.0\.readonly: true — a field of/],
        ["a misspelt field inside a bootstrap token", v4("kind: InitConfiguration\nbootstrapTokens:\n  - token: abcdef.0123456789abcdef\n    tll: 1h\n"),
            /InitConfiguration\.bootstrapTokens\.0\.tll: "1h" — a field of/],
        ["extraEnvs in v1beta3 (a v1beta4 field)", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  local:\n    extraEnvs:\n      - {name: A, value: b}\n",
            /ClusterConfiguration\.etcd\.local\.extraEnvs: .* — a field of kubeadm\.k8s\.io\/v1beta3 ClusterConfiguration/],
        ["a patches directory", v4("kind: InitConfiguration\npatches:\n  directory: /etc/kubeadm/patches\n"), /InitConfiguration\.patches: .* — no patches directory/],
        ["skipping a phase that is not optional", v4("kind: InitConfiguration\nskipPhases: [addon/kube-proxy, preflight]\n"), /InitConfiguration\.skipPhases: "preflight" — only "addon\/kube-proxy" and "addon\/coredns"/],
        ["skipping CA verification", v4("kind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: k8s.example.internal:6443\n    unsafeSkipCAVerification: true\n"),
            /JoinConfiguration\.discovery\.bootstrapToken\.unsafeSkipCAVerification: true — only kubeadm's default \(false\); pulumi-kubeadm always pins the cluster CA/],
        ["file discovery", v4("kind: JoinConfiguration\ndiscovery:\n  file:\n    kubeConfigPath: /etc/kubernetes/discovery.conf\n"), /JoinConfiguration\.discovery\.file: .* — bootstrap-token discovery/],
        ["dry run", v4("kind: InitConfiguration\ndryRun: true\n"), /InitConfiguration\.dryRun: true — .*use `pulumi preview`/],
        ["a changed kubeadm timeout", v4("kind: InitConfiguration\ntimeouts:\n  kubeletHealthCheck: 10m0s\n"), /InitConfiguration\.timeouts\.kubeletHealthCheck: "10m0s" — kubeadm's default \(4m0s\)/],
        ["a ResetConfiguration", v4("kind: ResetConfiguration\nforce: true\n"), /ResetConfiguration\.kind: "ResetConfiguration" — no ResetConfiguration/],
        ["an unknown kind", v4("kind: MasterConfiguration\n"), /MasterConfiguration\.kind: "MasterConfiguration" — one of ClusterConfiguration, InitConfiguration, JoinConfiguration/],
        ["a retired apiVersion", "apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n", /ClusterConfiguration\.apiVersion: "kubeadm\.k8s\.io\/v1beta2" — kubeadm\.k8s\.io\/v1beta4, v1beta3 or v1alpha1/],
        ["a token expiry time", v4("kind: InitConfiguration\nbootstrapTokens:\n  - token: abcdef.0123456789abcdef\n    expires: \"2030-01-01T00:00:00Z\"\n"), /bootstrapTokens\.0\.expires: .* — a ttl instead of an expiry time/],
        ["a malformed token", v4("kind: InitConfiguration\nbootstrapTokens:\n  - token: abcdef0123456789abcdef\n"), /bootstrapTokens\.0\.token: "\(a malformed token\)"/],
        ["taints on a joining worker", v4("kind: JoinConfiguration\nnodeRegistration:\n  taints:\n    - {key: dedicated, value: gpu, effect: NoSchedule}\n"), /JoinConfiguration\.nodeRegistration\.taints: .* — no taints on joining workers/],
        ["v1beta4 extraArgs written as a map", v4("kind: ClusterConfiguration\napiServer:\n  extraArgs:\n    profiling: \"false\"\n"), /ClusterConfiguration\.apiServer\.extraArgs: .* — a list of \{name, value\} with string values \(v1beta4 form\)/],
        ["an env var from a Secret", v4("kind: ClusterConfiguration\napiServer:\n  extraEnvs:\n    - name: TOKEN\n      valueFrom: {secretKeyRef: {name: s, key: k}}\n"), /apiServer\.extraEnvs: .* — a list of \{name, value\} \(valueFrom is not supported/],
        ["an in-tree cloud provider", "apiVersion: kubeadm.k8s.io/v1alpha1\nkind: MasterConfiguration\ncloudProvider: aws\n", /MasterConfiguration\.cloudProvider: "aws" — "external": in-tree cloud providers were removed/],
        ["a v1alpha1 etcd image", "apiVersion: kubeadm.k8s.io/v1alpha1\nkind: MasterConfiguration\netcd:\n  image: k8s.gcr.io/etcd-amd64:3.1.12\n", /MasterConfiguration\.etcd\.image: .* — no etcd\.image: set etcd\.imageRepository and etcd\.imageTag/],
        ["a v1alpha1 audit policy", "apiVersion: kubeadm.k8s.io/v1alpha1\nkind: MasterConfiguration\nauditPolicy:\n  path: /etc/kubernetes/audit.yaml\n", /MasterConfiguration\.auditPolicy: .* — audit settings as apiServer extraArgs/],
        ["privileged pods", "apiVersion: kubeadm.k8s.io/v1alpha1\nkind: MasterConfiguration\nprivilegedPods: true\n", /MasterConfiguration\.privilegedPods: true — only kubeadm's default \(false\)/],
        ["invalid YAML", "apiVersion: kubeadm.k8s.io/v1beta4\nkind: [ClusterConfiguration\n", /kubeadmConfig: .* — valid YAML/],
    ];
    test.each(rejectedFields)("rejects %s", (_name, text, message) => {
        expect(() => importKubeadmConfig(text)).toThrow(SpecError);
        expect(() => importKubeadmConfig(text)).toThrow(message);
    });

    test("a kubeadm config error fails the Cluster at evaluation, with nothing registered", () => {
        expect(() => new Cluster("c", { hosts: programHosts(), kubeadmConfig: fixture("v1alpha1-selfhosted.yaml") }))
            .toThrow(/invalid kubeadm config \(3 problems\)/);
        expect(runtime.named("c")).toEqual([]);
    });

    test.each<[string, string, RegExp]>([
        ["a node the program does not have", "kind: InitConfiguration\nnodeRegistration:\n  name: cp-9\n", /nodeRegistration\.name: "cp-9" — the name of one of the program's hosts/],
        ["an advertise address that differs from the host's", "kind: InitConfiguration\nnodeRegistration:\n  name: cp-1\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.10.99\n", /advertiseAddress: "10\.0\.10\.99" — the address of host cp-1 in the program \(10\.0\.10\.11\)/],
        ["etcd endpoints that are not the etcd hosts", "kind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [\"https://10.9.9.9:2379\"]\n", /etcd\.external\.endpoints: \["https:\/\/10\.9\.9\.9:2379"\] — the client URLs of the program's "etcd" hosts/],
    ])("rejects %s when merged with the program", (_name, body, message) => {
        expect(() => clusterSpecFromKubeadmConfig(`apiVersion: kubeadm.k8s.io/v1beta4\n${body}`, { hosts: programHosts() })).toThrow(message);
    });

    test("v1alpha1 extra volumes are read-only unless writable, as kubeadm 1.10 mounted them", () => {
        const text = "apiVersion: kubeadm.k8s.io/v1alpha1\nkind: MasterConfiguration\napiServerExtraVolumes:\n  - {name: a, hostPath: /a, mountPath: /a}\n  - {name: b, hostPath: /b, mountPath: /b, writable: true}\n";
        expect(importKubeadmConfig(text).spec.apiServer!.extraVolumes).toEqual([
            { name: "a", hostPath: "/a", mountPath: "/a", readOnly: true }, { name: "b", hostPath: "/b", mountPath: "/b", readOnly: false },
        ]);
    });

    test("an advertise address without a node name must be one of the program's hosts", () => {
        expect(() => clusterSpecFromKubeadmConfig("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.9.9.9\n", { hosts: programHosts() }))
            .toThrow(/advertiseAddress: "10\.9\.9\.9" — the address of one of the program's hosts, or a nodeRegistration\.name/);
    });

    test("kubeadm's printed defaults import cleanly (nothing to honour is lost)", () => {
        const defaults = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- groups: [system:bootstrappers:kubeadm:default-node-token]
  token: abcdef.0123456789abcdef
  ttl: 24h0m0s
  usages: [signing, authentication]
localAPIEndpoint:
  advertiseAddress: 10.0.10.11
  bindPort: 6443
nodeRegistration:
  criSocket: unix:///var/run/containerd/containerd.sock
  imagePullPolicy: IfNotPresent
  imagePullSerial: true
  name: cp-1
  taints: null
timeouts:
  controlPlaneComponentHealthCheck: 4m0s
  discovery: 5m0s
  etcdAPICall: 2m0s
  kubeletHealthCheck: 4m0s
  kubernetesAPICall: 1m0s
  tlsBootstrap: 5m0s
  upgradeManifests: 5m0s
---
apiServer: {}
apiVersion: kubeadm.k8s.io/v1beta4
caCertificateValidityPeriod: 87600h0m0s
certificateValidityPeriod: 8760h0m0s
certificatesDir: /etc/kubernetes/pki
clusterName: kubernetes
controllerManager: {}
dns: {}
encryptionAlgorithm: RSA-2048
etcd:
  local:
    dataDir: /var/lib/etcd
imageRepository: registry.k8s.io
kind: ClusterConfiguration
kubernetesVersion: 1.34.0
networking:
  dnsDomain: cluster.local
  serviceSubnet: 10.96.0.0/12
proxy: {}
scheduler: {}
`;
        const hosts = programHosts().filter(h => !h.roles.includes("etcd"));
        const { spec } = clusterSpecFromKubeadmConfig(defaults, { hosts, controlPlaneEndpoint: "k8s-api.example.internal:6443" });
        const resolved = validateCluster(spec);
        expect(resolved.version.version).toBe("v1.34.0");
        expect(resolved.etcdTopology).toBe("stacked");
    });
});

describe("ClusterConfiguration as kubeadm stores it in kube-system/kubeadm-config (reference §5.5)", () => {
    test("v1beta4, with kubeadm's defaults and keys in sorted order", () => {
        const spec = haSpec({ kubernetesVersion: "v1.37.2" });
        spec.hosts = spec.hosts.filter(h => !h.roles.includes("etcd"));
        const config = clusterConfiguration(validateCluster(spec));
        expect(config).toEqual({
            apiServer: {},
            apiVersion: "kubeadm.k8s.io/v1beta4",
            caCertificateValidityPeriod: "87600h0m0s",
            certificateValidityPeriod: "8760h0m0s",
            certificatesDir: "/etc/kubernetes/pki",
            clusterName: "kubernetes",
            controlPlaneEndpoint: "k8s-api.example.internal:6443",
            controllerManager: {},
            dns: {},
            encryptionAlgorithm: "RSA-2048",
            etcd: { local: { dataDir: "/var/lib/etcd" } },
            imageRepository: "registry.k8s.io",
            kind: "ClusterConfiguration",
            kubernetesVersion: "v1.37.2",
            networking: { dnsDomain: "cluster.local", podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12" },
            proxy: {},
            scheduler: {},
        });
    });

    test("proxy keeps only kubeadm's field (disabled); dns keeps its image, as kubeadm's DNS has one", () => {
        const images = { imageRepository: "mirror.example.internal/k8s", imageTag: "v9.9.9" };
        const config = clusterConfiguration(validateCluster(haSpec({ proxy: images, dns: images }))) as any;
        expect(config.proxy).toEqual({});
        expect(config.dns).toEqual(images);
        expect((clusterConfiguration(validateCluster(haSpec({ proxy: { ...images, disabled: true } }))) as any).proxy).toEqual({ disabled: true });
    });

    test("dedicated etcd appears as kubeadm's external etcd with the files we place", () => {
        const config = clusterConfiguration(validateCluster(haSpec()));
        expect(config.etcd).toEqual({
            external: {
                endpoints: ["https://10.0.20.11:2379", "https://10.0.20.12:2379", "https://10.0.20.13:2379"],
                caFile: "/etc/kubernetes/pki/etcd/ca.crt",
                certFile: "/etc/kubernetes/pki/apiserver-etcd-client.crt",
                keyFile: "/etc/kubernetes/pki/apiserver-etcd-client.key",
            },
        });
    });

    test("a v1beta3 file is stored as v1beta4, what kubeadm 1.33 to 1.37 read (1.37 reads no v1beta3): list extraArgs, PublicKeysECDSA as encryptionAlgorithm", () => {
        const hosts = programHosts().filter(h => !h.roles.includes("etcd"));
        const { spec } = clusterSpecFromKubeadmConfig(fixture("v1beta3-stacked.yaml"), { hosts });
        const config = clusterConfiguration(validateCluster(spec)) as any;
        expect(config.apiVersion).toBe("kubeadm.k8s.io/v1beta4");
        expect(config.apiServer).not.toHaveProperty("timeoutForControlPlane");
        expect(config.apiServer.extraArgs).toEqual(expect.arrayContaining([{ name: "authorization-mode", value: "Node,RBAC" }, { name: "profiling", value: "false" }]));
        expect(config.featureGates).toEqual({ ControlPlaneKubeletLocalMode: true });
        expect(config.encryptionAlgorithm).toBe("ECDSA-P256");
        expect(config.proxy).toEqual({});
        expect(config.etcd.local.extraArgs).toEqual(expect.arrayContaining([{ name: "auto-compaction-retention", value: "8" }]));
    });

    test("round trip: a v1beta4 file imported and rendered again keeps its settings", () => {
        const { spec } = clusterSpecFromKubeadmConfig(fixture("v1beta4-ha.yaml"), { hosts: programHosts() });
        const rendered = yaml.dump(clusterConfiguration(validateCluster(spec)));
        const again = importKubeadmConfig(rendered).spec;
        expect(again.apiServer!.extraArgs).toEqual(spec.apiServer!.extraArgs);
        expect(again.apiServer!.extraVolumes).toEqual(spec.apiServer!.extraVolumes);
        expect(again.certificates).toMatchObject({ encryptionAlgorithm: "ECDSA-P256", validityHours: 8760 });
        expect(again.clusterName).toBe("prod-eu1");
    });
});
