import { MockRuntime, valueOf } from "../support/mocks";
import { discoveryHashByShell, inspectCert, verify } from "../support/openssl";

test("examples/pki runs under the mock runtime and yields kubeadm's certificates", async () => {
    const runtime = await new MockRuntime().start();
    const program = await import("../../examples/pki");
    const ca = await valueOf(program.caCertPem);
    const apiservers = await valueOf(program.apiServerCertificates);
    expect(Object.keys(apiservers)).toEqual(["cp-1", "cp-2", "cp-3"]);
    for (const [node, pem] of Object.entries(apiservers)) {
        expect(verify(ca, pem).ok).toBe(true);
        expect(inspectCert(pem).dnsNames).toContain(node);
    }
    expect(await valueOf(program.discoveryTokenCaCertHash)).toBe(discoveryHashByShell(ca));
    expect(runtime.ofType("kubeadm:index:ClusterPki")).toHaveLength(1);
});
