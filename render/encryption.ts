import { toYaml } from "./yaml";

/** Where the EncryptionConfiguration lives on control planes (mounted read-only into kube-apiserver). */
export const ENCRYPTION_CONFIG_PATH = "/etc/kubernetes/enc/encryption-config.yaml";

export const ENCRYPTION_PROVIDERS = ["aescbc", "secretbox", "aesgcm"] as const;

export interface EncryptionKey {
    name: string;
    /** base64 of 32 random bytes. Secret. */
    secret: string;
}

export interface EncryptionInput {
    /** Resources to encrypt, e.g. ["secrets"]. */
    resources: string[];
    provider: string;
    /** The first key encrypts; every key decrypts. */
    keys: EncryptionKey[];
    /** Write plaintext (identity first) while still reading what the keys encrypted: encryption turned off without losing data. */
    identityFirst?: boolean;
}

/**
 * apiserver.config.k8s.io/v1 EncryptionConfiguration: the provider with its keys, then identity so
 * data written before encryption was enabled stays readable.
 */
export function encryptionConfiguration(i: EncryptionInput): string {
    return toYaml({
        apiVersion: "apiserver.config.k8s.io/v1",
        kind: "EncryptionConfiguration",
        resources: [{
            resources: i.resources,
            providers: i.identityFirst
                ? [{ identity: {} }, { [i.provider]: { keys: i.keys.map(k => ({ name: k.name, secret: k.secret })) } }]
                : [{ [i.provider]: { keys: i.keys.map(k => ({ name: k.name, secret: k.secret })) } }, { identity: {} }],
        }],
    });
}

/**
 * Kubernetes' documented key rotation, as the successive configurations each control plane gets
 * (restarting kube-apiservers one at a time after each): the new key added second, then made
 * first; after all Secrets are rewritten, the old key is dropped.
 */
export function rotationSteps(i: Omit<EncryptionInput, "keys">, oldKey: EncryptionKey, newKey: EncryptionKey): { step: string; config: string }[] {
    return [
        { step: "add the new key second", config: encryptionConfiguration({ ...i, keys: [oldKey, newKey] }) },
        { step: "make the new key first", config: encryptionConfiguration({ ...i, keys: [newKey, oldKey] }) },
        { step: "drop the old key (after every Secret is rewritten)", config: encryptionConfiguration({ ...i, keys: [newKey] }) },
    ];
}

/** A valid key for the provider: base64 of exactly 32 bytes (aescbc, secretbox and aesgcm all use AES-256-size keys here). */
export function isEncryptionKey(secret: string): boolean {
    return /^[A-Za-z0-9+/]+={0,2}$/.test(secret) && Buffer.from(secret, "base64").length === 32;
}
