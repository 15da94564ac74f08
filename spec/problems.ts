/** One thing wrong with the input: where, what was found, and what would be accepted. */
export interface Problem {
    field: string;
    value: unknown;
    accepted: string;
}

/** Thrown while the program is evaluated, so `pulumi preview` fails before anything changes. */
export class SpecError extends Error {
    constructor(readonly problems: Problem[], subject = "cluster spec") {
        super(`invalid ${subject} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
            problems.map(p => `  - ${p.field}: ${show(p.value)} — ${p.accepted}`).join("\n"));
        this.name = "SpecError";
    }
}

/** Collects problems and warnings so all of them are reported at once. */
export class Problems {
    readonly problems: Problem[] = [];
    readonly warnings: string[] = [];

    add(field: string, value: unknown, accepted: string): void {
        this.problems.push({ field, value, accepted });
    }

    warn(message: string): void {
        this.warnings.push(message);
    }

    get ok(): boolean {
        return this.problems.length === 0;
    }

    throwIfAny(subject?: string): void {
        if (!this.ok) throw new SpecError(this.problems, subject);
    }
}

/** The value of a problem about a field that is not known at all. */
export const UNKNOWN_FIELD = Symbol("unknown field");

export function show(value: unknown): string {
    if (value === undefined) return "(missing)";
    if (value === UNKNOWN_FIELD) return "unknown field";
    if (typeof value === "string") return JSON.stringify(value);
    try {
        const text = JSON.stringify(value);
        return text === undefined ? String(value) : text.length > 120 ? text.slice(0, 117) + "..." : text;
    } catch {
        return String(value);
    }
}
