//go:build tools

// Package tools pins the Pulumi CLI for scripts/real-tools.sh (versions: tools/versions.env).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
