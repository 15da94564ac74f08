//go:build tools

// Package tools pins crictl for scripts/real-tools.sh (version: tools/versions.env).
package tools

import _ "sigs.k8s.io/cri-tools/cmd/crictl"
