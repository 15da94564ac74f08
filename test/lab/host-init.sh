#!/usr/bin/env bash
# PID 1 of a lab host (started by lab.ts through `unshare --mount --uts --pid --fork --mount-proc
# --propagation private`): gives the host its own hostname and directories, then becomes the
# holder process. Killing this process kills everything in the host's PID namespace.
#
# Environment (set by lab.ts):
#   LAB_STATE_DIR  the lab's state dir;  LAB_NODE_NAME  the host's name (its hostname)
#   LAB_BIN_DIR    test/lab/bin, mounted read-only over /usr/local/sbin (systemctl, kubelet)
#   LAB_KEEP       colon-separated machine paths that must stay visible inside (state dir, repo)
#   LAB_HOSTS      "address name" lines for /etc/hosts;  LAB_CRI_SOCKET  socket node to create, or ""
# fd 3 is the lab's lifeline: when the process that started the lab goes away, it reads EOF and
# the holder exits, which tears the whole host down.
set -euo pipefail
: "${LAB_STATE_DIR:?}" "${LAB_NODE_NAME:?}" "${LAB_BIN_DIR:?}"

hostname "$LAB_NODE_NAME"

# The host's own /run (sshd's privilege separation dir lives there), and a handle on the paths
# that the overlays and private mounts below would otherwise hide.
mount -t tmpfs -o mode=0755,nosuid,nodev lab-run /run
mkdir -p /run/sshd /run/lock /run/lab-keep
chmod 0755 /run/sshd

# LAB_KEEP: the state dir first, then the repository.
declare -a keep=()
declare -A keep_id=() keep_mnt=()
IFS=: read -r -a keep <<<"$LAB_STATE_DIR:${LAB_KEEP:-}"
i=0
for p in "${keep[@]}"; do
    if [ -z "$p" ] || [ ! -d "$p" ] || [ -n "${keep_mnt[$p]:-}" ]; then continue; fi
    keep_id[$p]=$(stat -c %d:%i "$p")
    keep_mnt[$p]=/run/lab-keep/$i
    mkdir -p "/run/lab-keep/$i"
    mount --bind "$p" "/run/lab-keep/$i"
    i=$((i + 1))
done
host=${keep_mnt[$LAB_STATE_DIR]}/hosts/$LAB_NODE_NAME

# Writes to the system directories stay on this host (overlays on the machine's directories).
for dir in /etc /usr /var /opt; do
    [ -d "$dir" ] || continue
    layer=$host/overlay$dir
    mkdir -p "$layer/upper" "$layer/work"
    mount -t overlay lab-overlay -o "lowerdir=$dir,upperdir=$layer/upper,workdir=$layer/work" "$dir"
done

# The stand-ins first in PATH.
mount --bind "$LAB_BIN_DIR" /usr/local/sbin
mount -o remount,bind,ro /usr/local/sbin

# The host's own directories, kept in the state dir where the lab reads them.
for p in /etc/kubernetes /var/lib/etcd /var/lib/kubelet /etc/systemd/system /etc/default /var/lib/lab /root /tmp; do
    mkdir -p "$p"
    mount --bind "$host/fs$p" "$p"
done

# Put back what the private mounts hid (the state dir under /tmp, the repository), at the same paths.
for p in "${!keep_mnt[@]}"; do
    if [ "$(stat -c %d:%i "$p" 2>/dev/null || true)" != "${keep_id[$p]}" ]; then
        mkdir -p "$p"
        mount --bind "${keep_mnt[$p]}" "$p"
    fi
    umount "${keep_mnt[$p]}"
    rmdir "${keep_mnt[$p]}"
done
rmdir /run/lab-keep

printf '%s\n' "$LAB_NODE_NAME" >/etc/hostname
{
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
    printf '%s\n' "${LAB_HOSTS:-}" | awk 'NF == 2 { printf "%s\t%s\n", $1, $2 }'
} >/etc/hosts

if [ -n "${LAB_CRI_SOCKET:-}" ]; then
    mkdir -p "$(dirname "$LAB_CRI_SOCKET")"
    # A socket node where the container runtime's would be (nothing answers on it).
    perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => IO::Socket::SOCK_STREAM(), Local => $ARGV[0], Listen => 1) or die "$ARGV[0]: $!\n"' "$LAB_CRI_SOCKET"
fi

touch "$LAB_STATE_DIR/hosts/$LAB_NODE_NAME/ready"

# The holder: reaps orphans (it is PID 1 here), exits on TERM/INT/HUP or when the lifeline closes.
exec perl -e '
    use strict; use warnings; use POSIX ":sys_wait_h";
    $0 = "lab-holder $ENV{LAB_NODE_NAME}";
    $SIG{TERM} = $SIG{INT} = $SIG{HUP} = sub { exit 0 };
    $SIG{CHLD} = sub { };
    my $life;
    open($life, "<&=", 3) or undef $life;
    while (1) {
        1 while waitpid(-1, WNOHANG) > 0;
        if ($life) {
            my $rin = "";
            vec($rin, fileno($life), 1) = 1;
            my $n = select(my $rout = $rin, undef, undef, 1);
            if ($n && $n > 0) {
                my $r = sysread($life, my $buf, 64);
                exit 0 if defined($r) && $r == 0;
                exit 0 if !defined($r) && !$!{EINTR} && !$!{EAGAIN};
            }
        } else {
            select(undef, undef, undef, 1);
        }
    }
' lab-holder
