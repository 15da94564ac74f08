import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import {
    encryptionConfigCheck, encryptionConfiguration, EncryptionInput, EncryptionKey, isEncryptionKey, keyDigest, rotationSteps,
} from "../../render/encryption";
import { tempDir } from "../support/openssl";

const key = (name: string) => ({ name, secret: randomBytes(32).toString("base64") });

describe("EncryptionConfiguration (apiserver.config.k8s.io/v1)", () => {
    test("the provider's keys first, identity last, for the chosen resources", () => {
        const k1 = key("key1");
        expect(yaml.load(encryptionConfiguration({ resources: ["secrets"], provider: "aescbc", keys: [k1] }))).toEqual({
            apiVersion: "apiserver.config.k8s.io/v1",
            kind: "EncryptionConfiguration",
            resources: [{ resources: ["secrets"], providers: [{ aescbc: { keys: [{ name: "key1", secret: k1.secret }] } }, { identity: {} }] }],
        });
    });

    test("rotation: new key second, then first, then alone", () => {
        const [k1, k2] = [key("key1"), key("key2")];
        const steps = rotationSteps({ resources: ["secrets", "configmaps"], provider: "secretbox" }, k1, k2);
        const names = steps.map(s => (yaml.load(s.config) as any).resources[0].providers[0].secretbox.keys.map((k: any) => k.name));
        expect(names).toEqual([["key1", "key2"], ["key2", "key1"], ["key2"]]);
    });

    test("keys must be base64 of 32 bytes", () => {
        expect(isEncryptionKey(randomBytes(32).toString("base64"))).toBe(true);
        expect(isEncryptionKey(randomBytes(16).toString("base64"))).toBe(false);
        expect(isEncryptionKey("not base64!")).toBe(false);
    });
});

describe("encryption_config_check, run by bash before a host's configuration is replaced", () => {
    const [k1, k2] = [key("key1"), key("key2")];
    const config = (keys: EncryptionKey[], extra: Partial<EncryptionInput> = {}) => encryptionConfiguration({ resources: ["secrets", "configmaps"], provider: "aescbc", keys, ...extra });
    /** Places `next` over `current` (undefined: none in place) through the check; its exit status and message. */
    const replace = (current: string | undefined, next: string) => {
        const { dir, remove } = tempDir("enc-check-");
        try {
            if (current !== undefined) fs.writeFileSync(path.join(dir, "current.yaml"), current);
            fs.writeFileSync(path.join(dir, "next.yaml"), next);
            const script = `set -euo pipefail\nfail() { echo "$*" >&2; exit 1; }\n${encryptionConfigCheck().definition}${encryptionConfigCheck().name} "$1/current.yaml" "$1/next.yaml"\necho placed`;
            const r = spawnSync("bash", ["-c", script, "check", dir], { encoding: "utf8" });
            return { status: r.status, out: r.stdout + r.stderr, nextKept: fs.existsSync(path.join(dir, "next.yaml")) };
        } finally {
            remove();
        }
    };

    test("every configuration of a rotation reads what the one before stores under, and so does turning encryption off and on", () => {
        const [add, promote, drop] = rotationSteps({ resources: ["secrets", "configmaps"], provider: "aescbc" }, k1, k2).map(s => s.config);
        const moved = rotationSteps({ resources: ["secrets", "configmaps"], provider: "secretbox" }, { ...k1, provider: "aescbc" }, k2).map(s => s.config);
        const sequences = [[config([k1]), add, promote, drop], [config([k1]), ...moved],
            [config([k1]), config([k1], { identityFirst: true }), config([k1])], [undefined, config([k1])]];
        for (const seq of sequences) {
            for (let i = 1; i < seq.length; i++) expect(replace(seq[i - 1], seq[i]!)).toMatchObject({ status: 0, out: "placed\n" });
        }
        // A configuration without our marker lines (written by hand) is not judged.
        expect(replace("apiVersion: apiserver.config.k8s.io/v1\n", config([k2])).status).toBe(0);
    });

    test.each<[string, () => string, () => string, string]>([
        ["another provider in place", () => config([k1]), () => config([k1], { provider: "secretbox" }), `secrets=aescbc:key1:${keyDigest(k1.secret)} configmaps=aescbc:key1:${keyDigest(k1.secret)}`],
        ["a new key at the same version", () => config([k1]), () => config([{ ...k1, secret: k2.secret }]), `secrets=aescbc:key1:${keyDigest(k1.secret)}`],
        ["a resource dropped", () => config([k1]), () => encryptionConfiguration({ resources: ["secrets"], provider: "aescbc", keys: [k1] }), `: configmaps=aescbc:key1:${keyDigest(k1.secret)};`],
        ["the old key dropped before the new one writes", () => rotationSteps({ resources: ["secrets"], provider: "aescbc" }, k1, k2)[0].config, () => config([k2]), `secrets=aescbc:key1:`],
        ["a key dropped while encryption is off (its data stays)", () => config([k2, k1], { identityFirst: true }), () => config([k2]), `secrets=aescbc:key1:${keyDigest(k1.secret)}`],
    ])("refused: %s (the new file removed, the step failed naming what is stored under what)", (_what, current, next, named) => {
        const r = replace(current(), next());
        expect(r.status).toBe(1);
        expect(r.out).toContain("the new encryption configuration cannot read data stored under the one in place (resource=provider:key:digest):");
        expect(r.out).toContain(named);
        expect(r.out).toContain("it was not placed");
        expect(r.nextKept).toBe(false);
    });
});
