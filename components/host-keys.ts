import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { authorizedKeyLine, fingerprintOf, HostPublicKey, isRecorded, keyToPin, parseHostKey, parseRecordedKeys } from "../spec/host-keys";
import { recordHostKeysScript } from "../render/host-keys";
import { BastionSpec, HostSpec, SshCredentials } from "../spec/types";

/**
 * Host keys: every connection carries the key its host must present (@pulumi/command's hostKey,
 * which the provider pins; without one it checks nothing). A hostKey of key lines is pinned as it
 * is; a fingerprint, or trustOnFirstUse, needs the key read from the host once: a `<host>-host-key`
 * step (the only one without a pinned key; it logs in with a key or an agent, never a password, and
 * runs only render/host-keys.ts's script, which prints the host's public keys and, with a fingerprint,
 * fails unless one has it) whose output, kept in the state, is the key every other step pins.
 */

/** Where a connection goes: "user@host:port" (and the bastion's), which a recorded key belongs to. */
function endpointOf(c: SshCredentials & { host?: string }, host: string, via?: BastionSpec): string {
    const self = `${c.user ?? "root"}@${host}:${c.port ?? 22}`;
    return via ? `${self} via ${endpointOf(via, via.host)}` : self;
}

/** Keys recorded this run, by endpoint. Each top component records its hosts anew when it is constructed. */
const recorded = new Map<string, pulumi.Output<string>>();

/** The key @pulumi/command pins for these credentials, or an error when it needs a recording none was made for. */
export function pinnedHostKey(c: SshCredentials, host: string, via?: BastionSpec): pulumi.Input<string> {
    const pin = c.hostKey === undefined ? undefined : parseHostKey(c.hostKey).pin;
    if (pin && "keys" in pin) return authorizedKeyLine(keyToPin(pin.keys)!);
    const key = recorded.get(endpointOf(c, host, via));
    if (!key) throw new Error(`pulumi-kubeadm: no recorded host key for ${endpointOf(c, host, via)} (ssh.hostKey is a fingerprint or trustOnFirstUse is set, and the component that connects did not record it): please report this`);
    return key;
}

/**
 * Records the host key of every host (and bastion) in `hosts` whose ssh.hostKey is a fingerprint or
 * that trusts on first use: one `<name>-<host>-host-key` step each (`<name>-bastion-<host>-host-key`
 * for a bastion), before any other step connects. `list` is the args' field the hosts are in
 * ("hosts", "members"), for messages such as "hosts[2] (cp-2).ssh".
 */
export function recordHostKeys(name: string, hosts: HostSpec[], list: string, parent: pulumi.Resource): void {
    const label = (h: HostSpec, i: number) => `${list}[${i}] (${h.name})`;
    const bastions = new Map<string, { b: BastionSpec; field: string }>();
    hosts.forEach((h, i) => {
        const b = h.ssh.bastion;
        if (b && isRecorded(b) && !bastions.has(endpointOf(b, b.host))) bastions.set(endpointOf(b, b.host), { b, field: `${label(h, i)}.ssh.bastion` });
    });
    for (const [endpoint, { b, field }] of bastions) {
        const step = `${name}-bastion-${b.host.replace(/[^A-Za-z0-9.-]/g, "-")}-${b.port ?? 22}-host-key`;
        recorded.set(endpoint, record(step, b, b.host, undefined, field, parent));
    }
    hosts.forEach((h, i) => {
        if (!isRecorded(h.ssh)) return;
        const host = h.ssh.host ?? h.address;
        recorded.set(endpointOf(h.ssh, host, h.ssh.bastion), record(`${name}-${h.name}-host-key`, h.ssh, host, h.ssh.bastion, `${label(h, i)}.ssh`, parent));
    });
}

function record(step: string, c: SshCredentials, host: string, via: BastionSpec | undefined, field: string, parent: pulumi.Resource): pulumi.Output<string> {
    const fingerprint = c.hostKey === undefined ? undefined : (parseHostKey(c.hostKey).pin as { fingerprint: string }).fingerprint;
    const where = `${host}:${c.port ?? 22}${via ? ` (through ${via.host})` : ""}`;
    const rec = new command.remote.Command(step, {
        connection: {
            // No password: this login happens before the host's key is checked (validation requires a key or an agent here).
            host, port: c.port ?? 22, user: c.user ?? "root", privateKey: c.privateKey, privateKeyPassword: c.privateKeyPassword,
            agentSocketPath: c.agentSocketPath,
            proxy: via && {
                host: via.host, port: via.port ?? 22, user: via.user ?? "root", privateKey: via.privateKey, privateKeyPassword: via.privateKeyPassword,
                password: via.password, agentSocketPath: via.agentSocketPath, hostKey: pinnedHostKey(via, via.host),
            },
        },
        create: recordHostKeysScript(where, fingerprint),
        // A new address or fingerprint reads the key again; nothing else does (a changed key stops the steps instead).
        triggers: [where, fingerprint ?? "trust-on-first-use"],
        addPreviousOutputInEnv: false,
    }, { parent, ignoreChanges: ["connection", "create"] });
    const known = rec.stdout as unknown as { isKnown: Promise<boolean> };
    void known.isKnown.then(isKnown => {
        if (!isKnown) {
            pulumi.log.warn(fingerprint
                ? `${field}.hostKey: this run reads the host key ${where} presents and goes on only if its fingerprint is ${fingerprint}; every later step and run pins that key`
                : `${field}.trustOnFirstUse: no host key is pinned for ${where} yet: this run records the key it presents (the step ${step} reads its public keys and sends nothing else) and pins it for every later step and run; set ${field}.hostKey to stop trusting the first answer`, parent);
        }
    });
    return rec.stdout.apply(out => authorizedKeyLine(choose(parseRecordedKeys(out), fingerprint, field, where, step)));
}

function choose(keys: HostPublicKey[], fingerprint: string | undefined, field: string, where: string, step: string): HostPublicKey {
    const offered = keys.map(k => `${k.type} ${fingerprintOf(k)}`).join(", ") || "no key";
    if (!fingerprint) {
        const key = keyToPin(keys);
        if (!key) throw new Error(`${field}: the step ${step} read no host key from ${where} (it printed ${offered}); check that sshd there has host keys, then run again`);
        return key;
    }
    const key = keys.find(k => fingerprintOf(k) === fingerprint);
    if (!key) {
        throw new Error(`${field}.hostKey: ${where} presents ${offered}, not ${fingerprint}: nothing was sent to it. If the host was reinstalled, check its key on the console `
            + `(ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub) and set the new fingerprint; otherwise something else answers at this address`);
    }
    const preferred = keyToPin(keys)!;
    if (preferred !== key) {
        pulumi.log.warn(`${field}.hostKey: pins ${where}'s ${key.type} key, but it also offers ${preferred.type}, which @pulumi/command's SSH client asks for first; `
            + `if the steps fail with "host key mismatch", give the fingerprint of its ${preferred.type} key (${fingerprintOf(preferred)}) once you checked it`);
    }
    return key;
}
