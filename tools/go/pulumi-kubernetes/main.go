// Command pulumi-resource-kubernetes is the Kubernetes provider plugin, built by
// scripts/real-tools.sh (versions: tools/versions.env). Upstream's main embeds files its
// `go generate` writes, which the module zip lacks; the build writes the same two files from the
// module's committed schema.json (with the version set) and terraform-mapping.json.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
