//go:build tools

// Package tools pins etcdctl and etcdutl for scripts/real-tools.sh (version: tools/versions.env).
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/etcdutl/v3"
)
