import * as path from "node:path";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { COMPONENTS } from "../../provider";

// The component provider infers its schema from the components' args with this analyzer; a
// union type, a function-typed field or a reference to a non-@pulumi resource would fail here.
test("every component's args and outputs can be served to other languages", () => {
    const root = path.resolve(__dirname, "../..");
    const names = COMPONENTS.map(c => c.name);
    const result = new Analyzer(root, "kubeadm", require(path.join(root, "package.json")), new Set(names)).analyze();
    expect(Object.keys(result.components).sort()).toEqual([...names].sort());
    expect(result.components.Cluster.inputs.hosts).toMatchObject({ type: "array", items: { $ref: "#/types/kubeadm:index:HostSpec" } });
    expect(result.components.ClusterPki.inputs.controlPlanes).toMatchObject({ type: "array" });
    expect(result.components.ClusterPki.outputs.discoveryTokenCaCertHash).toMatchObject({ type: "string" });
    expect(result.components.ControlPlane.inputs.pki).toMatchObject({ $ref: "#/types/kubeadm:index:ControlPlanePki" });
    expect(result.typeDefinitions.LoadBalancerSpec.properties!.external).toMatchObject({ $ref: "#/types/kubeadm:index:ExternalLoadBalancerSpec" });
    expect(result.typeDefinitions.HostSpec.properties!.ssh).toMatchObject({ $ref: "#/types/kubeadm:index:SshSpec" });
});
