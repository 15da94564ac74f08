//go:build tools

// Package tools pins the etcd server for scripts/real-tools.sh (versions: tools/versions.env).
package tools

import _ "go.etcd.io/etcd/server/v3"
