import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostSpec } from "../spec/types";
import { pinnedHostKey } from "./host-keys";

/** @pulumi/command's connection for a host (the SDK marks the whole connection secret). */
export function connectionOf(h: HostSpec): command.types.input.remote.ConnectionArgs {
    const s = h.ssh;
    const b = s.bastion;
    return {
        host: s.host ?? h.address,
        port: s.port ?? 22,
        user: s.user ?? "root",
        privateKey: s.privateKey,
        privateKeyPassword: s.privateKeyPassword,
        password: s.password,
        agentSocketPath: s.agentSocketPath,
        hostKey: pinnedHostKey(s, s.host ?? h.address, b),
        proxy: b && {
            host: b.host, port: b.port ?? 22, user: b.user ?? "root", privateKey: b.privateKey,
            privateKeyPassword: b.privateKeyPassword, password: b.password, agentSocketPath: b.agentSocketPath, hostKey: pinnedHostKey(b, b.host),
        },
    };
}

/** A step that carries secrets: nothing logged, output kept secret (with SECRET_OUTPUTS). */
export const SECRET_STEP = { logging: "none" as const, addPreviousOutputInEnv: false };
export const SECRET_OUTPUTS = ["stdout", "stderr"];
/** Every step: the provider's PULUMI_COMMAND_STDOUT/STDERR environment is not wanted (sshd refuses it). */
export const STEP = { addPreviousOutputInEnv: false };

/**
 * Resources known only later (a Promise), as a dependsOn list. The Promise goes inside the array:
 * SDKs merge a Promise-valued dependsOn into an Output of resources, whose every resolution walks
 * all it reaches (the whole program), which made a 1,000-node program quadratic.
 */
export function later(resources: Promise<pulumi.Resource[]> | pulumi.Resource[]): pulumi.Input<pulumi.Resource>[] {
    return [Promise.resolve(resources) as unknown as pulumi.Input<pulumi.Resource>];
}

/**
 * In dependsOn: `yes` while `flag` is true, else `no`; a flag not known yet (a preview) counts as
 * false. The flag goes in as a Promise, not an Output: the SDK adds an Output's own resources to
 * every dependsOn it is in (a flag read from 1,000 preflights would make 1,000 joins depend on
 * each of them, quadratic again).
 */
export function when(flag: pulumi.Output<boolean>, yes: pulumi.Resource[] | Promise<pulumi.Resource[]>, no: pulumi.Resource[] | Promise<pulumi.Resource[]>): pulumi.Input<pulumi.Resource> {
    return knownValue(flag, false).then(f => (f ? yes : no)) as unknown as pulumi.Input<pulumi.Resource>;
}

/** An Output's value once known, or `unknown` when it is not (a preview). */
function knownValue<T>(o: pulumi.Output<T>, unknown: T): Promise<T> {
    // Output's isKnown and promise() are the SDK's own (internal) ways to read it without an apply.
    const out = o as unknown as { isKnown: Promise<boolean>; promise(): Promise<T> };
    return out.isKnown.then(known => (known ? out.promise() : unknown));
}
