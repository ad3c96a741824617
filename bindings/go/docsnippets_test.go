package routes

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goBlocks returns the ```go blocks of a Markdown file, in order.
func goBlocks(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	rest := string(b)
	for {
		i := strings.Index(rest, "```go\n")
		if i < 0 {
			return out
		}
		rest = rest[i+len("```go\n"):]
		j := strings.Index(rest, "```\n")
		if j < 0 {
			t.Fatalf("%s: unterminated go block", path)
		}
		out = append(out, rest[:j])
		rest = rest[j:]
	}
}

// The Go snippets of the README and of docs/MIGRATING.md compile (go vet) in a module of
// their own that uses this package as a user would (require + replace). MIGRATING.md's
// snippets are declarations from a GoDoxy-like program: stand-ins declare what they use of
// it (types.HTTPRoute, Entrypoint, Provider, priorityOf; for the "before" snippet, a
// stand-in of GoDoxy's routes package).
func TestDocSnippetsCompile(t *testing.T) {
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	readme := goBlocks(t, "README.md")
	migrating := goBlocks(t, filepath.Join("..", "..", "docs", "MIGRATING.md"))
	if len(readme) != 1 || len(migrating) != 2 {
		t.Fatalf("found %d go blocks in README.md and %d in MIGRATING.md; this test expects 1 and 2", len(readme), len(migrating))
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/snip\n\ngo 1.24\n\nrequire github.com/route-registry/routes v0.0.0\n\n" +
			"replace github.com/route-registry/routes => " + here + "\n",
		"readme/snippet.go": readme[0],
		"types/types.go": `package types

import (
	"net/http"
	"net/url"
)

type HTTPRoute interface {
	http.Handler
	Name() string
	Key() string
	TargetURL() *url.URL
	ProviderName() string
}
`,
		"godoxyroutes/routes.go": `package routes

import (
	"net/http"

	"example.com/snip/types"
)

type pool struct{}

func (pool) Add(types.HTTPRoute) {}

var HTTP pool

func GetHTTPRouteOrExact(alias, host string) (types.HTTPRoute, bool) { return nil, false }

func WithRouteContext(r *http.Request, route types.HTTPRoute) *http.Request { return r }
`,
		"before/stubs.go": "package before\n\ntype Entrypoint struct{}\n\ntype Provider struct{}\n",
		"before/snippet.go": `package before

import (
	"net/http"
	"strings"

	routes "example.com/snip/godoxyroutes"
	"example.com/snip/types"
)

` + migrating[0],
		"after/stubs.go": `package after

import "example.com/snip/types"

type Entrypoint struct{}

type Provider struct{}

func priorityOf(types.HTTPRoute) int32 { return 0 }
`,
		"after/snippet.go": `package after

import (
	"errors"
	"net/http"
	"strings"

	"example.com/snip/types"
	"github.com/route-registry/routes"
)

` + migrating[1],
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the documentation's Go snippets do not compile: %v\n%s", err, out)
	}
}
