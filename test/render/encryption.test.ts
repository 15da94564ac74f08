import { randomBytes } from "node:crypto";
import * as yaml from "js-yaml";
import { encryptionConfiguration, isEncryptionKey, rotationSteps } from "../../render/encryption";

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
