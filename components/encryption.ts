import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { hkdfSync } from "node:crypto";
import {
    EncryptionChange, encryptionChangeProblems, encryptionConfiguration, EncryptionKey, EncryptionRecord, keyDigest,
} from "../render/encryption";
import { SpecError } from "../spec/problems";
import { ResolvedCluster } from "../spec/validate";

// Encryption at rest: the key of each version, the configuration every control plane runs with, and
// the record of what the stored data is encrypted with (checked in preview against the change asked for).

export interface EncryptionKeys {
    current: pulumi.Output<EncryptionKey>;
    previous?: pulumi.Output<EncryptionKey>;
    /** The EncryptionConfiguration every control plane runs with. Secret. @secret */
    config: pulumi.Output<string>;
    /** Records what the data is encrypted with, once `last` (every control plane's last step) has succeeded. */
    record(last: pulumi.Resource[]): void;
    /**
     * In preview, the change checked against the record; it fails (and with it the program) with
     * the problems. Nothing waits for it: at up it is not checked (the record is then the new one).
     */
    check: pulumi.Output<true>;
}

/**
 * The key of each version (and, from version 2, the previous one): the user's, or derived from one
 * 32-byte random seed kept in the state (HKDF-SHA256, one key per version), so no version's key is
 * ever lost with its resource, not even when keyVersion is lowered by mistake.
 *
 * In preview, the change is checked with encryptionChangeProblems against the record of the last
 * pulumi up, so a change that would leave stored data unreadable fails the preview (and the
 * preview of `pulumi up`) before any step runs; the hosts check it again before placing a
 * configuration (encryptionConfigCheck).
 */
export function encryptionKeys(name: string, cluster: ResolvedCluster, parent: pulumi.Resource): EncryptionKeys {
    const e = cluster.encryption;
    const given = cluster.spec.encryptionAtRest ?? {};
    let seed: pulumi.Output<string> | undefined;
    const derived = (version: number) => {
        seed ??= new random.RandomBytes(`${name}-encryption-seed`, { length: 32 }, { parent }).base64;
        return seed.apply(b64 => Buffer.from(hkdfSync("sha256", Buffer.from(b64, "base64"), "pulumi-kubeadm encryption at rest", `key${version}`, 32)).toString("base64"));
    };
    const key = (version: number, supplied: pulumi.Input<string> | undefined, provider?: string) => pulumi.secret(pulumi.output(supplied ?? derived(version))
        .apply(secret => ({ name: `key${version}`, secret, ...(provider ? { provider } : {}) })));
    const current = key(e.keyVersion, given.key);
    const previous = e.keyVersion > 1 ? key(e.keyVersion - 1, given.previousKey, e.previousProvider !== e.provider ? e.previousProvider : undefined) : undefined;

    const digestOf = (k: pulumi.Output<EncryptionKey> | undefined) => (k ? pulumi.unsecret(k.apply(x => keyDigest(x.secret))) : pulumi.output(undefined));
    const change: pulumi.Output<EncryptionChange> = pulumi.all([digestOf(current), digestOf(previous)]).apply(([now, old]) => ({
        next: { provider: e.provider, resources: e.resources, keyVersion: e.keyVersion, key: now! },
        previousProvider: e.previousProvider, previousKey: old, ownKeys: given.key !== undefined,
    }));
    const preview = pulumi.runtime.isDryRun();
    const stash = (opts: pulumi.CustomResourceOptions) => new pulumi.Stash(`${name}-encryption-at-rest`, { input: change.apply(c => c.next) }, { parent, ...opts });
    let check: pulumi.Output<true> = pulumi.output(true as const);
    if (preview) {
        // In preview the record is read as the last pulumi up left it (ignoreChanges keeps it).
        const stored = stash({ ignoreChanges: ["input"] });
        check = pulumi.all([stored.input, change]).apply(([deployed, c]) => {
            const problems = encryptionChangeProblems(deployed as EncryptionRecord | undefined, c);
            if (problems.length) throw new SpecError(problems, "encryption at rest change");
            return true as const;
        });
    }
    const record = (last: pulumi.Resource[]) => { if (!preview) stash({ dependsOn: last }); };
    // Disabled: write plaintext, but keep reading what the keys encrypted (nothing becomes unreadable).
    const config = pulumi.secret(pulumi.all([current, previous]).apply(([now, old]) => encryptionConfiguration({
        resources: e.resources, provider: e.provider, keys: e.disabled && old ? [now, old] : [now], identityFirst: e.disabled,
    })));
    return { current, previous: e.disabled ? undefined : previous, config, record, check };
}
