import { Arg } from "../spec/types";

/**
 * kubeadm's ArgumentsToCommand (1.33 to 1.37): the defaults sorted by name (then value), less
 * those a user arg replaces, then the user args in their own order, written as --name=value.
 */
export function argumentsToCommand(defaults: Arg[], overrides: Arg[] = []): string[] {
    const overridden = new Set(overrides.map(a => a.name));
    const base = defaults.filter(a => !overridden.has(a.name));
    base.sort((a, b) => (a.name === b.name ? compare(a.value, b.value) : compare(a.name, b.name)));
    return [...base, ...overrides].map(a => `--${a.name}=${a.value}`);
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Value of the last occurrence of a flag in --name=value form, as kubeadm's GetArgValue(-1). */
export function argValue(command: string[], name: string): string | undefined {
    const prefix = `--${name}=`;
    return [...command].reverse().find(a => a.startsWith(prefix))?.slice(prefix.length);
}
