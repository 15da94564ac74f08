import yaml from "js-yaml";
import { ControlPlane, controlPlaneSteps } from "../../components/control-plane";
import { EncryptionAtRestSpec } from "../../spec/types";
import { controlPlaneProgram } from "../support/control-plane";
import { haSpec } from "../support/fixtures";
import { EngineState, MockRuntime, Registration, settle } from "../support/mocks";

// Encryption-at-rest changes against the record of the last deployment. The runtimes share one
// state, as the engine's between runs: ups deploy and record, previews check a changed program.
const FACTS = 'facts {"hostname":"%s","caCertDirs":[],"resolvConf":""}';
const answer = async (type: string, _inputs: Record<string, any>, name: string) => {
    if (type !== "command:remote:Command") return undefined;
    const node = /-(cp-\d)-preflight$/.exec(name)?.[1];
    return { stdout: node ? FACTS.replace("%s", node) : name.includes("-deregister-") ? "deregistered\nran at 1" : "ok", stderr: "" };
};

const program = (encryptionAtRest?: EncryptionAtRestSpec): ControlPlane => controlPlaneProgram(haSpec(encryptionAtRest ? { encryptionAtRest } : {}));

const state: EngineState = new Map();

/** A pulumi up (recorded in the state) or a preview; the check's refusal, if any, and what registered. */
async function run(mode: "up" | "preview", encryptionAtRest?: EncryptionAtRestSpec): Promise<{ error?: Error; registrations: Registration[] }> {
    const runtime = new MockRuntime(answer, state);
    await runtime.start({ preview: mode === "preview" });
    const cp = program(encryptionAtRest);
    const check = controlPlaneSteps(cp).encryptionCheck as any;
    // A refusal rejects every promise of the Output (the program then fails, as a preview does); the test reads the value's.
    for (const p of [check.isKnown, check.isSecret]) p.catch(() => undefined);
    const checked = (check.promise() as Promise<unknown>).then(() => ({}), (error: Error) => ({ error }));
    const done = mode === "up" ? (cp.ready as any).promise() as Promise<unknown> : settle(20);
    const outcome = await Promise.race([Promise.all([checked, done]).then(([c]) => c), runtime.failure.catch((error: Error) => ({ error }))]);
    await settle();
    return { ...outcome, registrations: [...runtime.registrations] };
}

const record = (registrations: Registration[]) => registrations.find(r => r.name === "cp-encryption-at-rest")!;
const configOf = (registrations: Registration[], name: string) => {
    const stdin = registrations.find(r => r.name === name)!.inputs.stdin as string;
    return yaml.load(Buffer.from(/^\/etc\/kubernetes\/enc\/encryption-config\.yaml (\S+)$/m.exec(stdin)![1], "base64").toString()) as any;
};
const providersOf = (config: any) => config.resources[0].providers.map((p: any) => {
    const [name] = Object.keys(p);
    return name === "identity" ? name : `${name}:${p[name].keys.map((k: any) => k.name).join(",")}`;
});
const OWN_KEY = Buffer.alloc(32, 7).toString("base64");

beforeAll(async () => {
    const { error } = await run("up");
    expect(error).toBeUndefined();
}, 120_000);

describe("encryption at rest: what the stored data is encrypted with, recorded and checked in preview", () => {
    let deployed: Registration;
    test("a pulumi up records provider, resources, keyVersion and the key's digest once every control plane has it", async () => {
        const { registrations } = await run("preview");
        deployed = record(registrations);
        expect(deployed.inputs.input).toEqual({ provider: "aescbc", resources: ["secrets"], keyVersion: 1, key: expect.stringMatching(/^[0-9a-f]{16}$/) });
        expect(deployed.type).toBe("pulumi:index:Stash");
    }, 60_000);

    test.each<[string, EncryptionAtRestSpec, string]>([
        ["another provider at the same keyVersion", { provider: "secretbox" },
            'encryptionAtRest.provider: "secretbox" — "aescbc": the stored data is encrypted with aescbc key1 (sha256 %KEY%, recorded by the last pulumi up); to move it to secretbox, raise keyVersion to 2 and set previousProvider: "aescbc" (the data is then rewritten under the new key)'],
        ["a resource no longer listed", { resources: ["configmaps"] },
            'encryptionAtRest.resources: ["configmaps"] — a list that keeps "secrets": the stored data is encrypted with aescbc key1'],
        ["your own key in place of the key in use", { key: OWN_KEY },
            "encryptionAtRest.key: \"sha256 "],
        ["a jump of two key versions", { keyVersion: 3 },
            "encryptionAtRest.keyVersion: 3 — 2 (one rotation at a time): the stored data is encrypted with aescbc key1"],
        ["a rotation whose previous key is not the one in use", { keyVersion: 2, key: OWN_KEY, previousKey: Buffer.alloc(32, 8).toString("base64") },
            "encryptionAtRest.previousKey: \"sha256 "],
        ["a rotation from another provider than the one in use", { keyVersion: 2, previousProvider: "aesgcm" },
            'encryptionAtRest.previousProvider: "aesgcm" — "aescbc": the stored data is encrypted with aescbc key1'],
    ])("refused in preview: %s", async (_what, encryptionAtRest, message) => {
        const { error } = await run("preview", encryptionAtRest);
        expect(error?.message).toContain("invalid encryption at rest change");
        expect(error?.message).toContain(message.replace("%KEY%", deployed.inputs.input.key));
    }, 60_000);

    test("the same configuration, an added resource, or a rotation by one pass", async () => {
        for (const e of [undefined, { resources: ["secrets", "configmaps"] }, { keyVersion: 2 }, { disabled: true }]) {
            expect((await run("preview", e)).error).toBeUndefined();
        }
    }, 120_000);

    test("a rotation to another provider: the old key keeps its provider until the new one is first; then it is recorded", async () => {
        const rotation = { keyVersion: 2, provider: "secretbox", previousProvider: "aescbc" };
        const preview = await run("preview", rotation);
        expect(preview.error).toBeUndefined();
        expect(providersOf(configOf(preview.registrations, "cp-key2-add-cp-2"))).toEqual(["aescbc:key1", "secretbox:key2", "identity"]);
        expect(providersOf(configOf(preview.registrations, "cp-key2-promote-cp-2"))).toEqual(["secretbox:key2", "aescbc:key1", "identity"]);
        expect(providersOf(configOf(preview.registrations, "cp-cp-2-install"))).toEqual(["secretbox:key2", "identity"]);
        const up = await run("up", rotation);
        expect(up.error).toBeUndefined();
        const recorded = record(up.registrations);
        expect(recorded.inputs.input).toMatchObject({ provider: "secretbox", keyVersion: 2 });
        expect(recorded.inputs.input.key).not.toBe(deployed.inputs.input.key);
        // Recorded after every control plane's last step.
        const byUrn = new Map(up.registrations.map(r => [r.urn, r.name]));
        expect(recorded.dependsOn.map(u => byUrn.get(u))).toEqual(expect.arrayContaining(["cp-cp-3-upgraded", "cp-key2-rewrite"]));
        // From now on, key2 under secretbox is what the data is encrypted with.
        expect((await run("preview", { keyVersion: 1 })).error?.message).toContain("encryptionAtRest.keyVersion: 1 — 2, or 3 to rotate: the stored data is encrypted with secretbox key2");
        expect((await run("preview", { keyVersion: 2 })).error?.message).toContain('encryptionAtRest.provider: "aescbc" — "secretbox"');
        expect((await run("preview", { keyVersion: 2, provider: "secretbox" })).error).toBeUndefined();
    }, 240_000);
});
