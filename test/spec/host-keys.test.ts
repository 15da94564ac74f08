import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fingerprintOf, keyToPin, knownHostsFor, parseHostKey, patternMatches } from "../../spec/host-keys";

let dir: string;
const made: Record<string, string> = {};
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "host-keys-"));
    for (const t of ["ed25519", "ecdsa", "rsa"]) {
        execFileSync("ssh-keygen", ["-q", "-t", t, "-N", "", "-C", "", "-f", path.join(dir, t)]);
        made[t] = fs.readFileSync(path.join(dir, `${t}.pub`), "utf8").trim();
    }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const keysOf = (value: string) => (parseHostKey(value).pin as { keys: { type: string; blob: string }[] }).keys;

describe("host keys as OpenSSH writes them", () => {
    test("a key's SHA256 fingerprint is the one ssh-keygen -lf prints", () => {
        for (const t of Object.keys(made)) {
            const printed = execFileSync("ssh-keygen", ["-lf", path.join(dir, `${t}.pub`)], { encoding: "utf8" }).split(" ")[1];
            expect(fingerprintOf(keysOf(made[t])[0])).toBe(printed);
        }
    });

    test("of a host's keys, the one Go's client is shown is pinned: ECDSA, then RSA, then Ed25519", () => {
        const all = [made.ed25519, made.rsa, made.ecdsa].join("\n");
        expect(keyToPin(keysOf(all))!.type).toBe("ecdsa-sha2-nistp256");
        expect(keyToPin(keysOf([made.ed25519, made.rsa].join("\n")))!.type).toBe("ssh-rsa");
        expect(keyToPin(keysOf(made.ed25519))!.type).toBe("ssh-ed25519");
    });

    test("known_hosts patterns: the host, [host]:port, wildcards, negation and hashed names", () => {
        expect(patternMatches("10.0.10.11", "10.0.10.11", 22)).toBe(true);
        expect(patternMatches("10.0.10.11", "10.0.10.11", 2222)).toBe(false);
        expect(patternMatches("[10.0.10.11]:2222", "10.0.10.11", 2222)).toBe(true);
        expect(patternMatches("10.0.10.*", "10.0.10.12", 22)).toBe(true);
        expect(patternMatches("10.0.10.1?", "10.0.10.2", 22)).toBe(false);
        expect(patternMatches("!10.0.10.11", "10.0.10.11", 22)).toBe(false);
        // ssh-keygen -H's hashed names: the host's entry matches, on its port only; another host's does not.
        const file = path.join(dir, "known_hosts");
        fs.writeFileSync(file, `10.0.10.11 ${made.ed25519}\n[10.0.10.11]:2222 ${made.ed25519}\n`);
        execFileSync("ssh-keygen", ["-q", "-H", "-f", file], { stdio: "ignore" });
        const [onPort22, onPort2222] = fs.readFileSync(file, "utf8").trim().split("\n").map(l => l.split(" ")[0]);
        expect(onPort22).toMatch(/^\|1\|/);
        expect(patternMatches(onPort22, "10.0.10.11", 22)).toBe(true);
        expect(patternMatches(onPort22, "10.0.10.12", 22)).toBe(false);
        expect(patternMatches(onPort22, "10.0.10.11", 2222)).toBe(false);
        expect(patternMatches(onPort2222, "10.0.10.11", 2222)).toBe(true);
    });

    test("knownHostsFor picks a host's lines of ssh-keyscan's output for many hosts, and names a host it has none for", () => {
        const [type, blob] = made.ecdsa.split(" ");
        const [type2, blob2] = made.ed25519.split(" ");
        const text = `# 10.0.10.11:22 SSH-2.0-OpenSSH_9.2\n10.0.10.11 ${type} ${blob}\n10.0.10.12 ${type2} ${blob2}\n[10.0.10.11]:2222 ${type2} ${blob2}\n`;
        expect(knownHostsFor(text, "10.0.10.11")).toBe(`10.0.10.11 ${type} ${blob}`);
        expect(knownHostsFor(text, "10.0.10.11", 2222)).toBe(`[10.0.10.11]:2222 ${type2} ${blob2}`);
        expect(() => knownHostsFor(text, "10.0.10.13")).toThrow("knownHosts: no line for 10.0.10.13 (of 3); add what `ssh-keyscan -p 22 10.0.10.13` prints");
    });
});
