import { createHash, X509Certificate } from "node:crypto";

/**
 * kubeadm's --discovery-token-ca-cert-hash (pubkeypin.Hash): "sha256:" and the lower-case hex
 * SHA-256 of the CA certificate's DER SubjectPublicKeyInfo.
 */
export function discoveryTokenCaCertHash(caCertPem: string): string {
    const spki = new X509Certificate(caCertPem).publicKey.export({ type: "spki", format: "der" });
    return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}
