import { spawnSync } from "node:child_process";
import { createHmac, generateKeyPairSync, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { CA_CERT_HASH, discoveryFunctions, discoveryTokenCaCertHash } from "../../render/discovery";
import { openssl, tempDir } from "../support/openssl";

// The discovery functions run in the bash a joining host has; each is checked against an
// independent implementation: node's crypto and JSON.parse, and the openssl CLI.
function run(body: string, stdin = "", pins: string[] = []): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync("bash", ["-c", `set -euo pipefail\n${discoveryFunctions(pins)}\n${body}`], { input: stdin, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("hmac_sha256_b64url", () => {
    // Token secrets are [a-z0-9]{16}; "6" XOR 0x36 is a NUL byte in the inner pad.
    const keys = ["0123456789abcdef", "6666666666666666", "zzzzzzzzzzzzzzzz", "a6b6c6d6e6f60000"];
    test.each(keys)("equals node's HMAC-SHA256 (and openssl's) for key %s", key => {
        const message = `eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9.${Buffer.from(`apiVersion: v1\nserver: https://10.0.0.1:6443\n${key}\n`).toString("base64url")}`;
        const r = run(`IFS= read -r key; IFS= read -r message; hmac_sha256_b64url "$key" "$message"`, `${key}\n${message}\n`);
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe(createHmac("sha256", key).update(message).digest("base64url"));
        const viaOpenssl = openssl(["dgst", "-sha256", "-hmac", key], message).trim().split(" ").pop();
        expect(Buffer.from(r.stdout, "base64url").toString("hex")).toBe(viaOpenssl);
    });
});

describe("json_string", () => {
    const values = [
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: TFMwdExT\n    server: https://k8s-api:6443\n  name: \"\"\n",
        "tabs\tand \\ backslashes, \"quotes\", <html> & 'apostrophes' and / slashes",
        "unicode é stays as bytes",
    ];
    test.each(values)("decodes what JSON.stringify (and Go's HTML-escaping encoder) wrote: %#", value => {
        const goStyle = JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
        const doc = `{"kind":"ConfigMap","metadata":{"managedFields":[{"fieldsV1":{"f:data":{"f:kubeconfig":{}}}}]},"data":{"jws-kubeconfig-abcdef":"x..y","kubeconfig":${goStyle}}}`;
        const r = run("json_string kubeconfig", doc);
        expect(r.status).toBe(0);
        expect(r.stdout).toBe(value);
        expect(run("json_string jws-kubeconfig-abcdef", doc).stdout).toBe("x..y");
    });
    test("a missing key exits 3; a non-ASCII \\u escape exits 4", () => {
        expect(run("json_string kubeconfig", "{\"data\":{}}").status).toBe(3);
        expect(run("json_string k", "{\"k\":\"\\u00e9\"}").status).toBe(4);
    });
    test("keys with blanks around the colon (pretty-printed JSON)", () => {
        expect(run("json_string kubelet", "{\n  \"kubelet\" : \"a: 1\\n\"\n}").stdout).toBe("a: 1\n");
    });
});

describe("ca_pin and ca_pinned", () => {
    const t = tempDir();
    afterAll(() => t.remove());
    test("ca_pin is kubeadm's discovery-token-ca-cert-hash; ca_pinned accepts only a listed pin", () => {
        const key = path.join(t.dir, "ca.key");
        const crt = path.join(t.dir, "ca.crt");
        fs.writeFileSync(key, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
        openssl(["req", "-x509", "-new", "-key", key, "-subj", "/CN=kubernetes", "-days", "1", "-out", crt]);
        const hash = discoveryTokenCaCertHash(fs.readFileSync(crt, "utf8"));
        expect(hash).toMatch(CA_CERT_HASH);
        expect(run(`ca_pin ${crt}`).stdout).toBe(hash);
        expect(run(`ca_pinned ${crt} && echo yes`, "", [`sha256:${"0".repeat(64)}`, hash]).stdout).toBe("yes\n");
        expect(run(`ca_pinned ${crt} || echo no`, "", [`sha256:${"0".repeat(64)}`]).stdout).toBe("no\n");
        expect(new X509Certificate(fs.readFileSync(crt)).subject).toBe("CN=kubernetes");
    });
});

describe("bootstrap-kubelet.conf made on the host", () => {
    // The discovery join fills the program's template on the host; the result must be what the
    // program's own renderer writes for the same server, CA and token (quoting included).
    test.each(["abcdef.0123456789abcdef", "123456.0123456789012345", "123456.0123456789012e34"])("token %s", token => {
        const { bootstrapKubeletConf } = require("../../render/bootstrap-token");
        const { discoveryJoinScript } = require("../../render/worker");
        const script: string = discoveryJoinScript({
            host: "w", step: "join", node: { name: "w", address: "10.0.0.9", roles: ["worker"], ssh: {} }, version: "v1.33.2", minor: "1.33",
            minimumKubeletVersion: "v1.30.0", certificatesDir: "/etc/kubernetes/pki", endpoint: "k8s:6443", caCertHashes: [`sha256:${"a".repeat(64)}`],
            files: [], kubeadmDropIn: "", ignore: [], tlsBootstrapTimeoutSeconds: 0, discoveryTimeoutSeconds: 1,
        });
        // The lines that build it, run with the values discovery would have found.
        const start = script.indexOf("    conf=$(cat <<'");
        const end = script.indexOf("    tmp=$(tmpfile /etc/kubernetes/bootstrap-kubelet.conf)");
        const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        const t = tempDir();
        try {
            fs.writeFileSync(path.join(t.dir, "ca.crt"), ca);
            const body = `set -euo pipefail\ndisc=${t.dir}\nserver=https://k8s:6443\ntoken_id=${token.slice(0, 6)} token_secret=${token.slice(7)}\n${script.slice(start, end)}printf '%s\\n' "$conf"\n`;
            const r = spawnSync("bash", ["-c", body], { encoding: "utf8" });
            expect(r.stderr).toBe("");
            expect(r.stdout).toBe(bootstrapKubeletConf({ server: "https://k8s:6443", caCertPem: ca, token }));
        } finally {
            t.remove();
        }
    });
});
