import { createHash } from "node:crypto";
import { Problem } from "../spec/problems";
import { toYaml } from "./yaml";

/** Where the EncryptionConfiguration lives on control planes (mounted read-only into kube-apiserver). */
export const ENCRYPTION_CONFIG_PATH = "/etc/kubernetes/enc/encryption-config.yaml";

export const ENCRYPTION_PROVIDERS = ["aescbc", "secretbox", "aesgcm"] as const;

export interface EncryptionKey {
    name: string;
    /** base64 of 32 random bytes. Secret. */
    secret: string;
    /** The provider this key is used with, when not the configuration's (a rotation to another provider). */
    provider?: string;
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
 * The first two lines of every configuration we place: what the data it leaves in etcd may be
 * encrypted with (the key it writes with; with identity first, every key it reads, since data the
 * keys wrote stays), and everything it can read.
 */
const STORED = "# pulumi-kubeadm stores under:";
const READS = "# pulumi-kubeadm reads:";

/**
 * apiserver.config.k8s.io/v1 EncryptionConfiguration: the provider with its keys, then identity so
 * data written before encryption was enabled stays readable. Two comment lines name, per resource,
 * the provider, key and key digest its data is stored under and every one it reads, so a host can
 * refuse a configuration that could not read what the one it replaces stored (encryptionConfigCheck).
 */
export function encryptionConfiguration(i: EncryptionInput): string {
    const groups: { provider: string; keys: EncryptionKey[] }[] = [];
    for (const k of i.keys) {
        const provider = k.provider ?? i.provider;
        const last = groups[groups.length - 1];
        if (last?.provider === provider) last.keys.push(k);
        else groups.push({ provider, keys: [k] });
    }
    const encrypting = groups.map(g => ({ [g.provider]: { keys: g.keys.map(k => ({ name: k.name, secret: k.secret })) } }));
    const providers = i.identityFirst ? [{ identity: {} }, ...encrypting] : [...encrypting, { identity: {} }];
    const markers = groups.flatMap(g => g.keys.map(k => `${g.provider}:${k.name}:${keyDigest(k.secret)}`));
    const readers = [...markers, "identity"];
    const stored = i.identityFirst || markers.length === 0 ? readers : [markers[0]];
    return `${STORED} ${i.resources.flatMap(r => stored.map(m => `${r}=${m}`)).join(" ")}\n`
        + `${READS} ${i.resources.flatMap(r => readers.map(m => `${r}=${m}`)).join(" ")}\n`
        + toYaml({ apiVersion: "apiserver.config.k8s.io/v1", kind: "EncryptionConfiguration", resources: [{ resources: i.resources, providers }] });
}

/**
 * Kubernetes' documented key rotation, as the successive configurations each control plane gets
 * (restarting kube-apiservers one at a time after each): the new key added second, then made
 * first; after all Secrets are rewritten, the old key is dropped. The old key keeps its own
 * provider, so the same sequence moves the data to another provider.
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

/** A key's digest: the first 64 bits of SHA-256 over its 32 random bytes (it tells keys apart and reveals nothing of them). */
export function keyDigest(secret: string): string {
    return createHash("sha256").update(Buffer.from(secret, "base64")).digest("hex").slice(0, 16);
}

/**
 * `encryption_config_check TARGET NEW` (before NEW replaces TARGET): each resource's provider and
 * key the configuration in place stores data under must be among those NEW reads, or that data
 * would no longer decrypt. A configuration without the marker lines (none placed yet, or
 * one written by hand) is not judged.
 */
export function encryptionConfigCheck(): { name: string; definition: string } {
    const name = "encryption_config_check";
    return {
        name, definition: `${name}() { # ${name} TARGET NEW: NEW reads whatever TARGET stores data under
    local target=$1 new=$2 line reads w missing=""
    local -a stored
    [ -f "$target" ] || return 0
    line=$(sed -n 's/^${STORED} //p' "$target")
    [ -n "$line" ] || return 0
    reads=" $(sed -n 's/^${READS} //p' "$new") "
    read -r -a stored <<<"$line"
    for w in "\${stored[@]}"; do
        case $reads in *" $w "*) ;; *) missing="$missing $w" ;; esac
    done
    if [ -n "$missing" ]; then
        rm -f "$new"
        fail "the new encryption configuration cannot read data stored under the one in place (resource=provider:key:digest):$missing; it was not placed, and $target is unchanged. Change encryptionAtRest through a rotation: raise keyVersion by one (with previousProvider and previousKey naming what is in place)"
    fi
}
`,
    };
}

/** What the stored data may be encrypted with, as a cluster records it in its state after each successful pulumi up (a Stash). */
export interface EncryptionRecord {
    provider: string;
    resources: string[];
    keyVersion: number;
    /** keyDigest of the key of keyVersion. */
    key: string;
}

/** The change a program asks for, against the record: the next record, and what it says the previous key was. */
export interface EncryptionChange {
    next: EncryptionRecord;
    /** Rotating (keyVersion above the record's): the provider and digest of the key before. */
    previousProvider: string;
    previousKey?: string;
    /** Whether key and previousKey are the user's (else generated from the seed in the state). */
    ownKeys: boolean;
}

/**
 * The changes that would leave stored data unreadable, as problems: a lower keyVersion, a jump of
 * more than one, a different provider or key at the same keyVersion, a rotation whose previous key
 * or provider is not the one in use, or a resource no longer listed. None when nothing is recorded yet.
 */
export function encryptionChangeProblems(deployed: EncryptionRecord | undefined, change: EncryptionChange, field = "encryptionAtRest"): Problem[] {
    if (!deployed) return [];
    const { next } = change;
    const d = deployed;
    const inUse = `the stored data is encrypted with ${d.provider} key${d.keyVersion} (sha256 ${d.key}, recorded by the last pulumi up)`;
    const problems: Problem[] = [];
    const add = (f: string, value: unknown, accepted: string) => problems.push({ field: `${field}${f}`, value, accepted });
    const dropped = d.resources.filter(r => !next.resources.includes(r));
    if (dropped.length) add(".resources", next.resources, `a list that keeps ${dropped.map(r => JSON.stringify(r)).join(", ")}: ${inUse}, and objects stored under a resource no longer listed would not decrypt`);
    const keyField = change.ownKeys ? ".key" : " (the generated key)";
    if (next.keyVersion < d.keyVersion) {
        add(".keyVersion", next.keyVersion, `${d.keyVersion}, or ${d.keyVersion + 1} to rotate: ${inUse}, and keyVersion never goes down`);
    } else if (next.keyVersion > d.keyVersion + 1) {
        add(".keyVersion", next.keyVersion, `${d.keyVersion + 1} (one rotation at a time): ${inUse}, and a rotation reads only the version just before it`);
    } else if (next.keyVersion === d.keyVersion) {
        if (next.provider !== d.provider) add(".provider", next.provider, `"${d.provider}": ${inUse}; to move it to ${next.provider}, raise keyVersion to ${d.keyVersion + 1} and set previousProvider: "${d.provider}" (the data is then rewritten under the new key)`);
        if (next.key !== d.key) add(keyField, `sha256 ${next.key}`, `the key of sha256 ${d.key}: ${inUse}; ${change.ownKeys ? `to change the key, raise keyVersion to ${d.keyVersion + 1}, set key to the new one and previousKey to this one` : "the generated key changed, so its seed (the encryption-seed resource) was replaced; restore it from a state backup, or pass the key in use as key"}`);
    } else {
        if (change.previousProvider !== d.provider) add(".previousProvider", change.previousProvider, `"${d.provider}": ${inUse}`);
        if (change.previousKey !== d.key) add(change.ownKeys ? ".previousKey" : " (the generated previous key)", change.previousKey === undefined ? undefined : `sha256 ${change.previousKey}`, `the key of sha256 ${d.key}: ${inUse}, and the rotation must be able to read it`);
    }
    return problems;
}
