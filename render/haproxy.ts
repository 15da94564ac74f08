import { joinHostPort } from "../spec/network";
import { NodeAddress } from "../spec/types";

export const HAPROXY_CONFIG = "/etc/haproxy/haproxy.cfg";
export const HAPROXY_SOCKET = "/run/haproxy/admin.sock";
export const HAPROXY_STATE_FILE = "/var/lib/haproxy/server-state";
export const HAPROXY_BACKEND = "apiserverbackend";

export interface HaproxyInput {
    /** Address and port the API endpoint listens on (the load balancer's side of controlPlaneEndpoint). */
    bindAddress: string;
    bindPort: number;
    /** Every control plane; each starts in maintenance until it is registered after its readiness gate. */
    controlPlanes: NodeAddress[];
    apiServerPort: number;
}

/**
 * haproxy.cfg after kubeadm's HA guide (docs/ha-considerations.md): TCP pass-through to the
 * API servers with an HTTPS /healthz check. Added for registration at runtime: an admin socket,
 * every server declared `disabled` (registered later through the socket, without a restart), and
 * a server-state file so that a restart keeps who is registered. It runs as the packages' haproxy
 * user, chrooted: the admin socket and the state file are opened as root, before it drops both.
 */
export function haproxyConfig(i: HaproxyInput): string {
    return [
        "global",
        "    log stdout format raw local0",
        // As Debian's and RHEL's packaged haproxy.cfg: no root, and no file system but its own, once started.
        "    chroot /var/lib/haproxy",
        "    user haproxy",
        "    group haproxy",
        "    daemon",
        `    stats socket ${HAPROXY_SOCKET} mode 600 level admin expose-fd listeners`,
        `    server-state-file ${HAPROXY_STATE_FILE}`,
        "",
        "defaults",
        "    mode                    http",
        "    log                     global",
        "    option                  httplog",
        "    option                  dontlognull",
        "    option http-server-close",
        "    option forwardfor       except 127.0.0.0/8",
        "    option                  redispatch",
        "    retries                 1",
        "    timeout http-request    10s",
        "    timeout queue           20s",
        "    timeout connect         5s",
        "    timeout client          35s",
        "    timeout server          35s",
        "    timeout http-keep-alive 10s",
        "    timeout check           10s",
        "    load-server-state-from-file global",
        "",
        "frontend apiserver",
        `    bind ${joinHostPort(i.bindAddress, i.bindPort)}`,
        "    mode tcp",
        "    option tcplog",
        `    default_backend ${HAPROXY_BACKEND}`,
        "",
        `backend ${HAPROXY_BACKEND}`,
        "    option httpchk",
        "    http-check connect ssl",
        "    http-check send meth GET uri /healthz",
        "    http-check expect status 200",
        "    mode tcp",
        "    balance     roundrobin",
        ...i.controlPlanes.map(cp => `    server ${cp.name} ${joinHostPort(cp.address, i.apiServerPort)} check verify none disabled`),
        "",
    ].join("\n");
}
