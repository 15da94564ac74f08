import yaml from "js-yaml";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { clusterInfoKubeconfig, kubeconfig } from "../../render/kubeconfig";
import { opensslCa, opensslLeaf, tempDir } from "../support/openssl";

/** What a real kubectl reads from the file. */
function kubectl(file: string, ...args: string[]): string {
    return execFileSync("kubectl", ["--kubeconfig", file, ...args], { encoding: "utf8" });
}

describe("kubeconfig files load with a real kubectl (reference §2)", () => {
    const t = tempDir();
    afterAll(() => t.remove());
    const ca = opensslCa("kubernetes");
    const admin = opensslLeaf(ca, "/O=kubeadm:cluster-admins/CN=kubernetes-admin", undefined, "clientAuth");

    test("admin.conf: cluster kubernetes at the endpoint, user kubernetes-admin, context kubernetes-admin@kubernetes", () => {
        const file = path.join(t.dir, "admin.conf");
        fs.writeFileSync(file, kubeconfig({ clusterName: "kubernetes", server: "https://k8s-api.example.internal:6443", caCertPem: ca.certPem, user: "kubernetes-admin", clientCertPem: admin.certPem, clientKeyPem: admin.keyPem }));
        expect(kubectl(file, "config", "current-context").trim()).toBe("kubernetes-admin@kubernetes");
        expect(kubectl(file, "config", "view", "-o", "jsonpath={.clusters[0].name} {.clusters[0].cluster.server} {.contexts[0].context.user}"))
            .toBe("kubernetes https://k8s-api.example.internal:6443 kubernetes-admin");
        const raw = JSON.parse(kubectl(file, "config", "view", "--raw", "-o", "json"));
        expect(Buffer.from(raw.clusters[0].cluster["certificate-authority-data"], "base64").toString()).toBe(ca.certPem);
        expect(Buffer.from(raw.users[0].user["client-certificate-data"], "base64").toString()).toBe(admin.certPem);
        expect(Buffer.from(raw.users[0].user["client-key-data"], "base64").toString()).toBe(admin.keyPem);
    });

    test("bootstrap-kubelet.conf carries the token as tls-bootstrap-token-user", () => {
        const file = path.join(t.dir, "bootstrap-kubelet.conf");
        fs.writeFileSync(file, kubeconfig({ clusterName: "kubernetes", server: "https://10.0.10.10:6443", caCertPem: ca.certPem, user: "tls-bootstrap-token-user", token: "abcdef.0123456789abcdef" }));
        expect(kubectl(file, "config", "current-context").trim()).toBe("tls-bootstrap-token-user@kubernetes");
        expect(JSON.parse(kubectl(file, "config", "view", "--raw", "-o", "json")).users[0].user.token).toBe("abcdef.0123456789abcdef");
    });

    test("cluster-info: one cluster with an empty name and the CA, no users or contexts", () => {
        const file = path.join(t.dir, "cluster-info");
        fs.writeFileSync(file, clusterInfoKubeconfig("https://k8s-api.example.internal:6443", ca.certPem));
        const view = JSON.parse(kubectl(file, "config", "view", "--raw", "-o", "json"));
        expect(view.clusters).toEqual([{ name: "", cluster: { server: "https://k8s-api.example.internal:6443", "certificate-authority-data": Buffer.from(ca.certPem).toString("base64") } }]);
        expect(view.contexts ?? []).toEqual([]);
        expect(view.users ?? []).toEqual([]);
    });

    // client-go's Config.Preferences is `json:"preferences"` in 0.33 and `json:"preferences,omitzero"` from 0.34.
    test.each([["1.33", true], ["1.34", false], ["1.37", false]])("cluster-info of %s has preferences: %s, as clientcmd.Write of that minor's client-go", (minor, has) => {
        expect(yaml.load(clusterInfoKubeconfig("https://k8s-api.example.internal:6443", ca.certPem, minor)) as object).toEqual({
            apiVersion: "v1", kind: "Config", "current-context": "", contexts: null, users: null, ...(has ? { preferences: {} } : {}),
            clusters: [{ name: "", cluster: { server: "https://k8s-api.example.internal:6443", "certificate-authority-data": Buffer.from(ca.certPem).toString("base64") } }],
        });
    });
});
