import { createHash, X509Certificate } from "node:crypto";
import { shellWord } from "./scripts";

/**
 * kubeadm's --discovery-token-ca-cert-hash (pubkeypin.Hash): "sha256:" and the lower-case hex
 * SHA-256 of the CA certificate's DER SubjectPublicKeyInfo.
 */
export function discoveryTokenCaCertHash(caCertPem: string): string {
    const spki = new X509Certificate(caCertPem).publicKey.export({ type: "spki", format: "der" });
    return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

export const CA_CERT_HASH = /^sha256:[0-9a-f]{64}$/;

/**
 * Shell functions for kubeadm's token discovery on the joining host, with curl, openssl, awk and
 * coreutils only:
 * - `ca_pin FILE`: the discoveryTokenCaCertHash of a PEM certificate;
 * - `ca_pinned FILE`: FILE's certificate matches one of `$pins`;
 * - `json_string KEY < JSON`: the decoded string value of KEY's first occurrence (the API server's
 *   compact JSON; a \u escape beyond ASCII fails, exit 4; no such key, exit 3);
 * - `hmac_sha256_b64url KEY MESSAGE`: unpadded base64url of HMAC-SHA256, computed by the shell
 *   and sha256sum so that the key (a token secret) never reaches any process's argv.
 */
export function discoveryFunctions(caCertHashes: string[]): string {
    return `pins=(${caCertHashes.map(shellWord).join(" ")})
ca_pin() {
    printf 'sha256:%s' "$(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)"
}
ca_pinned() {
    local pin want
    pin=$(ca_pin "$1" 2>/dev/null) || return 1
    for want in "\${pins[@]}"; do [ "$pin" = "$want" ] && return 0; done
    return 1
}
json_string() {
    awk -v key="$1" '
        { doc = doc $0 "\\n" }
        END {
            hex = "0123456789abcdef"; quoted = "\\"" key "\\""; rest = doc
            while ((at = index(rest, quoted)) > 0) {
                rest = substr(rest, at + length(quoted))
                if (match(rest, /^[ \\t\\r\\n]*:[ \\t\\r\\n]*"/)) { rest = substr(rest, RLENGTH + 1); found = 1; break }
            }
            if (!found) exit 3
            out = ""
            for (i = 1; i <= length(rest); i++) {
                c = substr(rest, i, 1)
                if (c == "\\"") { printf "%s", out; exit 0 }
                if (c != "\\\\") { out = out c; continue }
                c = substr(rest, ++i, 1)
                if (c == "n") out = out "\\n"
                else if (c == "t") out = out "\\t"
                else if (c == "r") out = out "\\r"
                else if (c == "b") out = out "\\b"
                else if (c == "f") out = out "\\f"
                else if (c == "u") {
                    code = 0
                    for (j = 1; j <= 4; j++) code = code * 16 + index(hex, tolower(substr(rest, i + j, 1))) - 1
                    if (code < 1 || code > 126) exit 4
                    out = out sprintf("%c", code)
                    i += 4
                } else out = out c
            }
            exit 3
        }'
}
hmac_sha256_b64url() {
    local key=$1 message=$2 i c byte ipad="" opad="" inner
    for ((i = 0; i < 64; i++)); do
        c=0
        if [ "$i" -lt "\${#key}" ]; then printf -v c '%d' "'\${key:i:1}"; fi
        printf -v byte '\\\\x%02x' $((c ^ 0x36))
        ipad+=$byte
        printf -v byte '\\\\x%02x' $((c ^ 0x5c))
        opad+=$byte
    done
    inner=$({ printf '%b' "$ipad"; printf '%s' "$message"; } | sha256sum | cut -d' ' -f1)
    { printf '%b' "$opad"; printf '%b' "$(printf '%s' "$inner" | sed 's/../\\\\x&/g')"; } | sha256sum | cut -d' ' -f1 \\
        | { read -r outer; printf '%b' "$(printf '%s' "$outer" | sed 's/../\\\\x&/g')"; } | base64 -w0 | tr '+/' '-_' | tr -d '='
}
`;
}
