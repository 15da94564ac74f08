import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { haproxyRegisterScript } from "../../render/load-balancer-scripts";
import { certificatesPem } from "../../render/pem";
import { heredocDelimiter, placeFilesScript, RESTART_PENDING } from "../../render/scripts";
import { opensslCa, openssl, tempDir } from "../support/openssl";

// Content inside a heredoc cannot end it: a line equal to the delimiter, then a command, must stay
// content. The rendered text runs in real bash, with a marker file the injected command would
// create. (A content-hash delimiter is matched only by brute force, which no test does: the first
// test pins the rule that makes it impossible; the CA's was fixed, and is tested as it was attacked.)
const bash = (script: string, cwd: string) => spawnSync("bash", ["-c", script], { cwd, encoding: "utf8" });
let tmp: { dir: string; remove: () => void };
beforeEach(() => { tmp = tempDir("heredoc-"); });
afterEach(() => tmp.remove());
const injected = () => fs.existsSync(path.join(tmp.dir, "pwned"));

test("a delimiter is one no line of the content equals", () => {
    expect(heredocDelimiter("a\nb\n", "END")).toBe("END");
    expect(heredocDelimiter("a\nEND\nEND_2\n", "END")).toBe("END_3");
});

test("a placed file holding the delimiters the script would have used is written as it is, and nothing in it runs", () => {
    const target = path.join(tmp.dir, "f");
    // Every delimiter the script would use for this content, when no line of it stops that: each is then a line of the content.
    const tried: string[] = [];
    let content = "x\n";
    for (let i = 0; i < 3; i++) {
        const end = /<<'(EOF_[0-9A-F]+(?:_\d+)?)'/.exec(placeFilesScript([{ path: target, mode: "0644", content }]))![1];
        expect(tried).not.toContain(end);
        tried.push(end);
        content = `${content}${end}\ntouch pwned\n`;
    }
    const script = placeFilesScript([{ path: target, mode: "0644", content }]);
    const end = /<<'(EOF_[0-9A-F]+(?:_\d+)?)'/.exec(script)![1];
    expect(content.split("\n")).not.toContain(end);
    // The host's list of placed files not yet acted on goes to the test's directory, not the machine's /var/lib.
    const r = bash(`set -euo pipefail\nHOST=h STEP=s\nfail() { echo "$*" >&2; exit 1; }\n${script.replaceAll(RESTART_PENDING, path.join(tmp.dir, "pending"))}`, tmp.dir);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(fs.readFileSync(target, "utf8")).toBe(content);
    expect(injected()).toBe(false);
});

test("text after the CA's PEM (which X.509 parsing accepts) never reaches the load balancer's shell", () => {
    const ca = opensslCa("kubernetes").certPem;
    const hostile = `${ca.trimEnd()}\nPULUMI_KUBEADM_CA\ntouch pwned\n`;
    // openssl reads the certificate and ignores what follows: the PEM is "valid".
    expect(openssl(["x509", "-noout", "-subject"], hostile)).toContain("kubernetes");
    expect(certificatesPem(hostile, "the CA")).toBe(ca.trimEnd());
    const script = haproxyRegisterScript({
        host: "lb-1", step: "register", server: "cp-1", after: "x", timeoutSeconds: 5,
        sameVersion: { controlPlanes: [{ name: "cp-1", address: "127.0.0.1" }], port: 6443, caCertPem: hostile },
    });
    expect(script).not.toContain("touch pwned");
    // The CA file the script writes is the certificate alone.
    const start = script.indexOf("cat > \"$ca_file\"");
    const snippet = script.slice(start, script.indexOf("\n", script.indexOf("\n-----END CERTIFICATE-----", start) + 1) + script.slice(script.indexOf("\n-----END CERTIFICATE-----", start) + 1).indexOf("\n") + 1);
    const r = bash(`ca_file=ca.pem\n${snippet}`, tmp.dir);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(fs.readFileSync(path.join(tmp.dir, "ca.pem"), "utf8")).toBe(ca.trimEnd() + "\n");
    expect(injected()).toBe(false);
});

test("a CA text without a certificate is refused, naming it", () => {
    expect(() => certificatesPem("not a pem", "the cluster CA")).toThrow("the cluster CA holds no PEM certificate");
});
