/** Plain objects merge key by key; anything else (arrays, Outputs, scalars) in `over` replaces `base`. */
export function deepMerge<T>(base: T, over: unknown): T {
    if (over === undefined) return base;
    if (!isPlainObject(base) || !isPlainObject(over)) return over as T;
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
    return out as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** The object without its undefined fields (what Go's omitempty leaves out). */
export function defined<T extends Record<string, unknown>>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
