import { X509Certificate } from "node:crypto";

/**
 * The certificates of a PEM text, each parsed and written out again: text around or between them
 * (which X.509 parsers skip, and a shell reading the PEM would not) is dropped. `what` names the
 * PEM in the error when it holds no certificate.
 */
export function certificatesPem(pem: string, what: string): string {
    const blocks = String(pem).match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new Error(`${what} holds no PEM certificate`);
    return blocks.map(b => new X509Certificate(b).toString().replace(/\n?$/, "\n")).join("").replace(/\n$/, "");
}
