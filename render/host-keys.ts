import { shellWord } from "./scripts";

/**
 * The one step that connects before its host's key is pinned: it prints the public keys the sshd
 * that answered offers (ssh-keyscan against $SSH_CONNECTION's server address and port, else the
 * host's /etc/ssh/ssh_host_*_key.pub). With a fingerprint it fails unless one key has it, listing
 * what it found, so a wrong fingerprint stops here, not in every step after. Nothing in it is
 * secret; the caller checks the printed keys again (a host can print anything).
 */
export function recordHostKeysScript(host: string, fingerprint?: string): string {
    return `set -euo pipefail
HOST=${shellWord(host)}
WANT=${shellWord(fingerprint ?? "")}
fail() { printf '[%s] host key: %s\\n' "$HOST" "$*" >&2; exit 1; }
keys=""
read -r _ _ server port <<<"\${SSH_CONNECTION:-}" || true
if [ -n "\${port:-}" ] && command -v ssh-keyscan >/dev/null 2>&1; then
  keys=$(ssh-keyscan -T 10 -p "$port" "$server" 2>/dev/null | grep -v '^#' || true)
fi
if [ -z "$keys" ]; then
  for f in /etc/ssh/ssh_host_*_key.pub; do
    if [ -f "$f" ]; then keys+="$(cat "$f")"$'\\n'; fi
  done
fi
[ -n "$keys" ] || fail "no host key found: neither ssh-keyscan against this sshd nor /etc/ssh/ssh_host_*_key.pub answered; check that sshd has host keys"
printf '%s\\n' "$keys"
if [ -n "$WANT" ] && command -v ssh-keygen >/dev/null 2>&1; then
  found=""
  while read -r line; do
    [ -n "$line" ] || continue
    found+=" $(ssh-keygen -lf - <<<"$line" | cut -d' ' -f2)"
  done <<<"$keys"
  case " $found " in
    *" $WANT "*) ;;
    *) fail "this host presents$found, not $WANT: nothing was sent to it. If the host was reinstalled, check its key on the console (ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub) and set the new fingerprint; otherwise something else answers at this address" ;;
  esac
fi
`;
}
