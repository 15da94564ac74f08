import { Arg } from "../spec/types";

/**
 * kubeadm's ArgumentsToCommand: a user arg replaces every default of the same name, then all
 * args are sorted by name (then value) and written as --name=value.
 */
export function argumentsToCommand(defaults: Arg[], overrides: Arg[] = []): string[] {
    const overridden = new Set(overrides.map(a => a.name));
    const args = [...overrides, ...defaults.filter(a => !overridden.has(a.name))];
    args.sort((a, b) => (a.name === b.name ? compare(a.value, b.value) : compare(a.name, b.name)));
    return args.map(a => `--${a.name}=${a.value}`);
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Value of the last occurrence of a flag in --name=value form, as kubeadm's GetArgValue(-1). */
export function argValue(command: string[], name: string): string | undefined {
    const prefix = `--${name}=`;
    return [...command].reverse().find(a => a.startsWith(prefix))?.slice(prefix.length);
}
