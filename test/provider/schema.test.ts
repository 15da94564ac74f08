import * as fs from "node:fs";
import * as path from "node:path";
import { providerSchema } from "../../provider/schema";

const root = path.resolve(__dirname, "../..");
let schema: any;
beforeAll(async () => {
    schema = JSON.parse(await providerSchema(root));
}, 60_000);

const resource = (name: string) => schema.resources[`kubeadm:index:${name}`];
const typeOf = (p: any) => p.$ref ?? p.type;

describe("the component provider's schema (what `pulumi package add` serves to Python, Go, C#, Java and YAML)", () => {
    test("schema.json is what the components infer today (run `npm run schema` after changing their args)", () => {
        const checkedIn = fs.readFileSync(path.join(root, "schema.json"), "utf8");
        expect(JSON.parse(checkedIn)).toEqual(schema);
    });

    test("the package: its name, version and the kubernetes provider it refers to", () => {
        expect(schema.name).toBe("kubeadm");
        expect(schema.version).toBe(require(path.join(root, "package.json")).version);
        expect(schema.dependencies).toEqual([{ name: "kubernetes", version: require("@pulumi/kubernetes/package.json").version }]);
        expect(Object.keys(schema.resources).sort()).toEqual(["kubeadm:index:Cluster", "kubeadm:index:ClusterPki", "kubeadm:index:ControlPlane", "kubeadm:index:EtcdCluster", "kubeadm:index:Preflight", "kubeadm:index:WorkerJoin"]);
        for (const r of Object.values<any>(schema.resources)) expect(r.isComponent).toBe(true);
    });

    test("Cluster: the spec's fields as inputs; every output with its type", () => {
        const c = resource("Cluster");
        expect(c.requiredInputs).toEqual(["hosts"]);
        expect(c.inputProperties.hosts).toMatchObject({ type: "array", items: { $ref: "#/types/kubeadm:index:HostSpec" } });
        for (const [k, t] of Object.entries({
            kubernetesVersion: "string", controlPlaneEndpoint: "string", kubeadmConfig: "string", clusterName: "string",
            etcd: "#/types/kubeadm:index:EtcdSpec", loadBalancer: "#/types/kubeadm:index:LoadBalancerSpec",
            networking: "#/types/kubeadm:index:NetworkingSpec", cni: "#/types/kubeadm:index:CniSpec",
            nodePreparation: "#/types/kubeadm:index:NodePreparationSpec", ignorePreflightErrors: "array",
        })) expect([k, typeOf(c.inputProperties[k])]).toEqual([k, t]);
        expect(Object.fromEntries(Object.entries<any>(c.properties).map(([k, p]) => [k, typeOf(p)]))).toEqual({
            clusterConfiguration: "string", kubernetesVersion: "string", caCertPem: "string", discoveryTokenCaCertHash: "string",
            endpoint: "string", adminKubeconfig: "string", joinCommand: "string", nodes: "array", etcdSnapshot: "#/types/kubeadm:index:EtcdSnapshot",
            provider: expect.stringMatching(/^\/kubernetes\/v[\d.]+\/schema\.json#\/resources\/kubernetes$/),
        });
        expect(c.properties.nodes.items).toEqual({ $ref: "#/types/kubeadm:index:ClusterNode" });
    });

    test("the phases: ClusterPki, EtcdCluster and ControlPlane with their inputs and outputs", () => {
        expect(resource("ClusterPki").requiredInputs.sort()).toEqual(["controlPlaneEndpoint", "controlPlanes"]);
        expect(typeOf(resource("ClusterPki").properties.discoveryTokenCaCertHash)).toBe("string");
        expect(typeOf(resource("ClusterPki").properties.nodePublicFiles)).toBe("object");
        expect(resource("EtcdCluster").requiredInputs.sort()).toEqual(["kubernetesVersion", "members", "pki"]);
        expect(resource("EtcdCluster").inputProperties.pki).toMatchObject({ $ref: "#/types/kubeadm:index:EtcdPki" });
        expect(resource("EtcdCluster").properties.clientEndpoints).toMatchObject({ type: "array", items: { type: "string" } });
        expect(resource("ControlPlane").requiredInputs.sort()).toEqual(["hosts", "pki"]);
        expect(resource("ControlPlane").inputProperties.pki).toMatchObject({ $ref: "#/types/kubeadm:index:ControlPlanePki" });
        expect(Object.keys(resource("ControlPlane").properties).sort()).toEqual(["endpoint", "ready"]);
    });

    test("the preflight phase and a standalone worker join: their inputs and outputs", () => {
        const p = resource("Preflight");
        expect(p.requiredInputs).toEqual(["hosts"]);
        expect(typeOf(p.inputProperties.caCertPem)).toBe("string");
        expect(p.inputProperties.hosts).toMatchObject({ type: "array", items: { $ref: "#/types/kubeadm:index:HostSpec" } });
        expect(p.properties.reports).toMatchObject({ type: "object", additionalProperties: { type: "string" } });
        const j = resource("WorkerJoin");
        expect(j.requiredInputs.sort()).toEqual(["caCertHashes", "controlPlaneEndpoint", "hosts", "kubernetesVersion", "token"]);
        expect(j.inputProperties.token.plain).toBeUndefined();
        expect(j.inputProperties.caCertHashes).toMatchObject({ type: "array", items: { type: "string" } });
        for (const [k, t] of Object.entries({ kubeletExtraArgs: "array", kubeletDropIns: "array", nodePreparation: "#/types/kubeadm:index:NodePreparationSpec", discoveryTimeoutSeconds: "number" })) {
            expect([k, typeOf(j.inputProperties[k])]).toEqual([k, t]);
        }
        expect(j.properties.nodes).toMatchObject({ type: "array", items: { type: "string" } });
    });

    test("secrets can come from config: SSH keys and passwords are inputs, not plain values", () => {
        const ssh = schema.types["kubeadm:index:SshSpec"].properties;
        for (const k of ["privateKey", "privateKeyPassword", "password"]) expect([k, ssh[k].plain]).toEqual([k, undefined]);
        expect(schema.types["kubeadm:index:HostSpec"].properties.ssh.$ref).toBe("#/types/kubeadm:index:SshSpec");
        // Every $ref names a type the schema defines, the kubernetes provider, or Any (free-form kubelet and proxy config).
        const refs = JSON.stringify(schema).match(/"\$ref":"[^"]+"/g) ?? [];
        for (const r of refs.map(x => x.slice(8, -1))) {
            if (r.startsWith("/kubernetes/") || r === "pulumi.json#/Any") continue;
            expect(schema.types[r.replace("#/types/", "")]).toBeDefined();
        }
    });
});
