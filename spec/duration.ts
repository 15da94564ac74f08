/** Go time.Duration text ("24h", "1h30m", "8760h0m0s", "90s") to seconds; undefined if malformed. */
export function parseGoDuration(text: string): number | undefined {
    if (typeof text !== "string") return undefined;
    if (text === "0") return 0;
    const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
    let total = 0;
    let matched = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
        total += Number(m[1]) * unit[m[2]];
        matched = re.lastIndex;
    }
    return matched === text.length && matched > 0 ? total : undefined;
}

/** Seconds as Go prints a time.Duration: "8760h0m0s", "4m0s", "30s". */
export function formatGoDuration(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    if (h > 0) return `${h}h${m}m${s}s`;
    if (m > 0) return `${m}m${s}s`;
    return `${s}s`;
}
