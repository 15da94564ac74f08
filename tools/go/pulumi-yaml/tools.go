//go:build tools

// Package tools pins the Pulumi YAML language host for scripts/real-tools.sh (versions:
// tools/versions.env). Its own wrapper: its dependencies must not move the CLI's.
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
