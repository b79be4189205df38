package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/geomesh/geomesh/mesh"
)

// configRefPath is the configuration reference generated from the config structs.
const configRefPath = "../../deploy/CONFIG.md"

var updateConfigRef = flag.Bool("update", false, "rewrite "+configRefPath+" from the config structs")

// refProfiles are the profiles the reference gives defaults for, in column order.
var refProfiles = []mesh.Profile{mesh.ProfileLAN, mesh.ProfileWAN, mesh.ProfileLocal}

// refDefaults give each key's default per resolved profile. A key missing here is listed with
// "—" (no default: unset, or see its meaning). Values in parentheses are descriptions, not
// values; every other value is checked: writing it in a file must change nothing, and
// refDefaults must see a change of the key (TestConfigRefDefaults).
var refDefaults = map[string]func(s settings) string{
	"node_id":                           func(settings) string { return "(required)" },
	"region":                            func(settings) string { return "(required)" },
	"data_dir":                          func(settings) string { return "(required)" },
	"roles":                             func(s settings) string { return "[" + strings.Join(s.node.Roles, ", ") + "]" },
	"profile":                           func(s settings) string { return string(s.node.Profile) },
	"gossip.addr":                       func(s settings) string { return s.node.GossipAddr },
	"gossip.keys":                       func(s settings) string { return requiredOutsideLocal(s, "(none)") },
	"gossip.region_down_grace":          func(s settings) string { return regionDownGrace(s).String() },
	"nats.host":                         func(s settings) string { return s.node.NATSHost },
	"nats.port":                         func(s settings) string { return fmt.Sprint(s.node.NATSPort) },
	"cluster.host":                      func(s settings) string { return s.node.ClusterHost },
	"cluster.port":                      func(s settings) string { return fmt.Sprint(s.node.ClusterPort) },
	"cluster.secret":                    func(s settings) string { return requiredOutsideLocal(s, "(none)") },
	"cluster.name":                      func(s settings) string { return s.node.ClusterName },
	"jetstream.replicas":                func(s settings) string { return fmt.Sprint(s.node.Replicas) },
	"jetstream.duplicate_window":        func(s settings) string { return s.node.DuplicateWindow.String() },
	"jetstream.sync_interval":           func(s settings) string { return s.node.SyncInterval.String() },
	"jetstream.sync_always":             func(s settings) string { return fmt.Sprint(s.node.SyncAlways) },
	"log.level":                         func(s settings) string { return strings.ToLower(s.logLevel.String()) },
	"log.format":                        func(s settings) string { return s.logFormat },
	"log.server_log":                    func(s settings) string { return fmt.Sprint(s.node.ServerLog) },
	"http_addr":                         func(s settings) string { return s.front.httpAddr },
	"admin_addr":                        func(s settings) string { return s.front.adminAddr },
	"admin_token":                       func(s settings) string { return requiredOutsideLocal(s, "(generated and logged)") },
	"settle_window":                     func(s settings) string { return s.node.SettleWindow.String() },
	"lease_ttl":                         func(s settings) string { return s.node.LeaseTTL.String() },
	"snapshot_every":                    func(s settings) string { return fmt.Sprint(s.node.SnapshotEvery) },
	"snapshot_interval":                 func(s settings) string { return s.node.SnapshotInterval.String() },
	"append_timeout":                    func(s settings) string { return s.node.AppendTimeout.String() },
	"submit_timeout":                    func(s settings) string { return s.node.SubmitTimeout.String() },
	"gateway.request_weight_per_minute": func(s settings) string { return fmt.Sprint(s.front.gw.weightLimit) },
	"gateway.orders_per_10s":            func(s settings) string { return fmt.Sprint(s.front.gw.orderLimit10s) },
	"gateway.request_timeout":           func(s settings) string { return s.front.gw.requestTimeout.String() },
	"gateway.read_your_writes":          func(s settings) string { return s.front.gw.readYourWrites.String() },
}

// refEntryDefaults are the defaults of keys inside list entries (not checked by resolving).
var refEntryDefaults = map[string]string{
	"symbols[].failover_policy":    "settle_then_trade",
	"bootstrap_keys[].permissions": "[read, trade]",
}

// refMeanings describe keys that have no flag and no comment in the source.
var refMeanings = map[string]string{
	"gossip":                       "gossip membership (hashicorp/memberlist)",
	"nats":                         "the embedded nats-server's client listener",
	"cluster":                      "the NATS route listener other regions connect to",
	"jetstream":                    "streams and buckets",
	"log":                          "the structured log (log/slog) on stderr",
	"symbols":                      "symbols this node creates in OWNERS when they do not exist yet, placed on their first live preferred region; the same list on every node",
	"symbols[].symbol":             "symbol name, e.g. BTCUSDT (required)",
	"symbols[].base_asset":         "base asset, e.g. BTC",
	"symbols[].quote_asset":        "quote asset, e.g. USDT",
	"symbols[].tick_size":          "PRICE_FILTER tickSize (decimal string)",
	"symbols[].step_size":          "LOT_SIZE stepSize",
	"symbols[].min_price":          "PRICE_FILTER minPrice",
	"symbols[].max_price":          "PRICE_FILTER maxPrice",
	"symbols[].min_qty":            "LOT_SIZE minQty",
	"symbols[].max_qty":            "LOT_SIZE maxQty",
	"symbols[].min_notional":       "NOTIONAL minNotional",
	"symbols[].max_notional":       "NOTIONAL maxNotional",
	"symbols[].max_num_orders":     "MAX_NUM_ORDERS: open orders per account on the symbol",
	"symbols[].preferred_regions":  "regions in order of preference: the symbol's home and failover order",
	"symbols[].failover_policy":    "on failover: settle_then_trade (CANCEL_ONLY for settle_window), cancel_open_orders or halt",
	"bootstrap_keys":               "API keys created in KV ACCOUNTS at start unless they exist (an existing key is never overwritten)",
	"bootstrap_keys[].account":     "account number (required, positive)",
	"bootstrap_keys[].api_key":     "the key as clients send it in X-MBX-APIKEY ([A-Za-z0-9])",
	"bootstrap_keys[].secret":      "its HMAC-SHA256 secret",
	"bootstrap_keys[].permissions": "read and/or trade",
	"gossip.seeds":                 "gossip addresses (host:port) of existing nodes; one reachable seed is enough, start order does not matter",
}

func requiredOutsideLocal(s settings, local string) string {
	if s.node.Profile == mesh.ProfileLocal {
		return local
	}
	return "(required)"
}

// regionDownGrace is the effective grace: 0 in the config means the mesh profile's default.
func regionDownGrace(s settings) time.Duration {
	if s.node.RegionDownGrace != 0 {
		return s.node.RegionDownGrace
	}
	switch s.node.Profile {
	case mesh.ProfileWAN:
		return mesh.DefaultWANConfig().RegionDownGrace
	case mesh.ProfileLocal:
		return mesh.LocalConfig().RegionDownGrace
	}
	return mesh.DefaultLANConfig().RegionDownGrace
}

// refKey is one key of the config file.
type refKey struct {
	path    string // "gossip.addr", "symbols[].symbol"
	typ     string
	section bool // a mapping or list of mappings: its keys follow
	doc     string
}

// configKeys lists every key of fileConfig in file order, with the Go doc or line comment of
// its field in the package's source.
func configKeys(t *testing.T) []refKey {
	t.Helper()
	comments := fieldComments(t)
	var out []refKey
	var walk func(rt reflect.Type, prefix string)
	walk = func(rt reflect.Type, prefix string) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			k := refKey{path: prefix + name, doc: comments[rt.Name()+"."+f.Name]}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft.Kind() == reflect.Struct:
				k.typ, k.section = "mapping", true
				out = append(out, k)
				walk(ft, k.path+".")
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				k.typ, k.section = "list of mappings", true
				out = append(out, k)
				walk(ft.Elem(), k.path+"[].")
			case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
				k.typ, k.section = "mapping of name to mapping", true
				out = append(out, k)
				walk(ft.Elem(), k.path+".<name>.")
			default:
				k.typ = goTypeName(ft)
				out = append(out, k)
			}
		}
	}
	walk(reflect.TypeFor[fileConfig](), "")
	return out
}

func goTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list of " + goTypeName(t.Elem()) + "s"
	case reflect.Map:
		return "mapping of string to " + goTypeName(t.Elem())
	}
	return t.String()
}

// fieldComments maps "Type.Field" of the package's struct types to the field's comment.
func fieldComments(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	out := map[string]string{}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fl := range st.Fields.List {
				text := ""
				if fl.Doc != nil {
					text = fl.Doc.Text()
				} else if fl.Comment != nil {
					text = fl.Comment.Text()
				}
				for _, id := range fl.Names {
					out[ts.Name.Name+"."+id.Name] = strings.Join(strings.Fields(text), " ")
				}
			}
			return false
		})
	}
	return out
}

// leafChanges lists the key paths whose values differ between two fileConfigs (list entries
// are compared whole).
func leafChanges(a, b reflect.Value, prefix string) []string {
	var out []string
	rt := a.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		av, bv := a.Field(i), b.Field(i)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, leafChanges(av, bv, prefix+name+".")...)
			continue
		}
		if !reflect.DeepEqual(av.Interface(), bv.Interface()) {
			out = append(out, prefix+name)
		}
	}
	return out
}

// flagKeys maps each key to the flag that sets it and that flag's usage, found by giving each
// flag alone and seeing which key changes.
func flagKeys(t *testing.T) (flags, usage, types map[string]string) {
	t.Helper()
	flags, usage, types = map[string]string{}, map[string]string{}, map[string]string{}
	all := pflag.NewFlagSet("regiond", pflag.ContinueOnError)
	newNodeFlags(all)
	all.VisitAll(func(fl *pflag.Flag) {
		if fl.Name == "config" {
			return
		}
		fs := pflag.NewFlagSet("regiond", pflag.ContinueOnError)
		nf := newNodeFlags(fs)
		v := map[string]string{"bool": "true", "int": "7", "duration": "7s", "float64": "7"}[fl.Value.Type()]
		if v == "" {
			v = "x7"
		}
		if err := fs.Parse([]string{"--" + fl.Name + "=" + v}); err != nil {
			t.Fatalf("--%s=%s: %v", fl.Name, v, err)
		}
		var fc fileConfig
		nf.override(&fc)
		keys := leafChanges(reflect.ValueOf(fileConfig{}), reflect.ValueOf(fc), "")
		if len(keys) != 1 {
			t.Fatalf("--%s sets keys %v, want one", fl.Name, keys)
		}
		flags[keys[0]] = "--" + fl.Name
		u := fl.Usage
		if i := strings.LastIndex(u, " ("); i >= 0 && strings.HasSuffix(u, ")") {
			u = u[:i]
		}
		usage[keys[0]] = u
		types[keys[0]] = fl.Value.Type()
	})
	return flags, usage, types
}

// envKeys maps each key to the environment variable that sets it, found by asking applyEnv.
func envKeys(t *testing.T) map[string]string {
	t.Helper()
	var names []string
	var fc fileConfig
	fc.applyEnv(func(name string) (string, bool) { names = append(names, name); return "", false })
	out := map[string]string{}
	for _, name := range names {
		var fc fileConfig
		fc.applyEnv(envMap(map[string]string{name: "x7"}))
		keys := leafChanges(reflect.ValueOf(fileConfig{}), reflect.ValueOf(fc), "")
		if len(keys) != 1 {
			t.Fatalf("$%s sets keys %v, want one", name, keys)
		}
		out[keys[0]] = "$" + name
	}
	return out
}

// refBase resolves a config of profile p with the required keys set, and those keys.
func refBase(t *testing.T, p mesh.Profile) (map[string]any, settings) {
	t.Helper()
	file := map[string]any{"profile": string(p), "node_id": "n-1", "region": "us-east", "data_dir": "/data",
		"admin_token": "tok", "cluster": map[string]any{"secret": "s"},
		"gossip": map[string]any{"keys": []string{"MDEyMzQ1Njc4OWFiY2RlZg=="}}}
	return file, resolveMap(t, file)
}

// resolveMap writes m as a config file and resolves it.
func resolveMap(t *testing.T, m map[string]any) settings {
	t.Helper()
	s, err := tryResolveMap(t, m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tryResolveMap(t *testing.T, m map[string]any) (settings, error) {
	t.Helper()
	b, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := loadFile(writeFile(t, "c.yaml", string(b)))
	if err != nil {
		return settings{}, err
	}
	return fc.resolve()
}

// withKey returns a deep copy of m with the dotted key set to the YAML value v.
func withKey(t *testing.T, m map[string]any, key, v string) map[string]any {
	t.Helper()
	var val any
	if err := yaml.Unmarshal([]byte(v), &val); err != nil {
		t.Fatalf("%s: %q: %v", key, v, err)
	}
	if s, ok := val.(string); ok || val == nil {
		val = s
		if val == "" {
			val = v
		}
	}
	var out map[string]any
	b, _ := yaml.Marshal(m)
	_ = yaml.Unmarshal(b, &out)
	cur := out
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = val
	return out
}

// TestConfigRefDefaults checks refDefaults against the resolution: writing a key's documented
// default in a file changes nothing, and a different value of the key changes what
// refDefaults reads, so each reads its own key.
func TestConfigRefDefaults(t *testing.T) {
	for _, p := range refProfiles {
		base, want := refBase(t, p)
		for key, get := range refDefaults {
			def := get(want)
			if strings.HasPrefix(def, "(") || key == "profile" {
				continue
			}
			got := resolveMap(t, withKey(t, base, key, def))
			got.node.RegionDownGrace, want.node.RegionDownGrace = regionDownGrace(got), regionDownGrace(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("profile %s: %s: %s written explicitly resolves differently:\n got %+v\nwant %+v", p, key, def, got, want)
			}
			changed := false
			for _, other := range []string{"127.0.0.9:7", "[gateway]", "7", "7s", "true", "false", "debug", "text", "json", "wan", "x9"} {
				if s, err := tryResolveMap(t, withKey(t, base, key, other)); err == nil && get(s) != def {
					changed = true
					break
				}
			}
			if !changed {
				t.Errorf("profile %s: refDefaults[%q] does not change with the key", p, key)
			}
		}
	}
}

// TestConfigRef checks that deploy/CONFIG.md is what the config structs generate; with -update
// it rewrites it.
func TestConfigRef(t *testing.T) {
	got := generateConfigRef(t)
	if *updateConfigRef {
		if err := os.WriteFile(configRefPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(configRefPath)
	if err != nil {
		t.Fatalf("%v: run\n\tgo test ./cmd/regiond -run ConfigRef -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale (a config key, flag, environment variable or default changed): run\n\tgo test ./cmd/regiond -run ConfigRef -update\nand commit the file", configRefPath)
	}
}

// generateConfigRef renders the reference.
func generateConfigRef(t *testing.T) []byte {
	t.Helper()
	keys := configKeys(t)
	flags, usage, flagTypes := flagKeys(t)
	envs := envKeys(t)
	examples := exampleKeys(t)
	resolved := map[mesh.Profile]settings{}
	bases := map[mesh.Profile]map[string]any{}
	for _, p := range refProfiles {
		bases[p], resolved[p] = refBase(t, p)
	}
	var b bytes.Buffer
	b.WriteString(configRefIntro)
	b.WriteString("| key | type | default: lan | wan | local | env | flag | meaning |\n|---|---|---|---|---|---|---|---|\n")
	cell := func(s string) string {
		if s == "" {
			return "—"
		}
		return strings.ReplaceAll(s, "|", `\|`)
	}
	code := func(s string) string {
		if s == "" || strings.HasPrefix(s, "(") {
			return cell(s)
		}
		return "`" + s + "`"
	}
	for _, k := range keys {
		typ := k.typ
		ex := examples[k.path]
		if _, err := time.ParseDuration(ex.value); flagTypes[k.path] == "duration" || (typ == "string" && err == nil) {
			typ = "duration"
		}
		var defs []string
		for _, p := range refProfiles {
			d := refEntryDefaults[k.path]
			if get, ok := refDefaults[k.path]; ok {
				d = get(resolved[p])
			} else if !k.section && !strings.Contains(k.path, "[]") {
				d = probeDefault(t, bases[p], resolved[p], k.path, ex.value)
			}
			defs = append(defs, code(d))
		}
		if slices.Equal(defs[:2], defs[1:]) && defs[0] != "—" {
			defs = []string{defs[0], "same", "same"}
		}
		meaning := usage[k.path]
		for _, m := range []string{k.doc, refMeanings[k.path], ex.comment} {
			if meaning == "" {
				meaning = m
			}
		}
		name := "`" + k.path + "`"
		if k.section {
			name = "**" + name + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name, typ, defs[0], defs[1], defs[2],
			code(envs[k.path]), code(flags[k.path]), cell(meaning))
	}
	b.WriteString(configRefOutro)
	return b.Bytes()
}

const configRefIntro = `# regiond configuration reference

<!-- Generated by cmd/regiond/configref_test.go from the config structs (cmd/regiond/config.go,
flags.go); do not edit. Regenerate with: go test ./cmd/regiond -run ConfigRef -update -->

This file is generated from the structs regiond decodes its config file into, its flags and
its environment variables, and checked by ` + "`go test ./cmd/regiond`" + `: a key added
to ` + "`cmd/regiond/config.go`" + ` without regenerating fails that test. Regenerate it with

    go test ./cmd/regiond -run ConfigRef -update

**Precedence**: the defaults of the profile < the ` + "`--config`" + ` YAML file < the environment
< flags given on the command line. Every key is optional in the file except the required ones;
unknown keys are refused (exit 2 with the line and the key). Durations are Go durations
(` + "`500ms`, `5s`, `2m`" + `). A relative ` + "`data_dir`" + ` is relative to the file's directory.

**Profiles** (` + "`profile`" + `): ` + "`lan`" + ` (default) and ` + "`wan`" + ` are production: a
gossip key, a cluster secret and an admin token are required (best from the environment, so
files hold no secrets), gossip detects a dead node in about 5 s (lan) or 40 s (wan).
` + "`local`" + ` is loopback with random ports, fast failure detection and no secrets required
(tests, the demo, ` + "`deploy/local`" + `).

The defaults columns give the value a key takes when it is left out; "same" repeats the lan
value. Keys under a list (` + "`symbols[]`" + `) are per entry.

`

const configRefOutro = `
## Example

` + "`deploy/local/us-east.yaml`" + ` is a complete file for the local profile. A production node
keeps its secrets in the environment:

` + "```sh" + `
export GEOMESH_CLUSTER_SECRET=...        # the same on every node
export GEOMESH_GOSSIP_KEYS=$(head -c 32 /dev/urandom | base64)   # the same keyring on every node
export GEOMESH_ADMIN_TOKEN=...           # meshctl --token
regiond --config /etc/geomesh/us-east-1.yaml --log-level info
` + "```" + `

Other endpoints of a running node: the gateway on ` + "`http_addr`" + ` (Binance REST under
` + "`/api/v3`" + `, WebSocket under ` + "`/ws`, `/stream`, `/ws-api/v3`" + `, the status page at
` + "`/status`" + ` and ` + "`/api/v2/*.json`" + `), the admin API on ` + "`admin_addr`" + `
(` + "`/admin/v1`" + `, bearer ` + "`admin_token`" + `). See README.md.
`

// probeDefault finds the default of a key refDefaults does not know: the first of the
// example's value and a few zero values that, written in the file, resolves exactly like
// leaving the key out ("" when none does).
func probeDefault(t *testing.T, base map[string]any, want settings, key, example string) string {
	t.Helper()
	for _, v := range []string{example, "0s", "0", "false", "[]"} {
		if v == "" {
			continue
		}
		if got, err := tryResolveMap(t, withKey(t, base, key, v)); err == nil && reflect.DeepEqual(got, want) {
			return v
		}
	}
	return ""
}

// exampleKey is a key of the annotated example in fileConfig's doc comment.
type exampleKey struct{ value, comment string }

// exampleKeys reads the YAML example in fileConfig's doc comment: each key's value and the
// comment after it (continued on comment-only lines below it).
func exampleKeys(t *testing.T) map[string]exampleKey {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Doc != nil && len(g.Specs) == 1 {
			if ts, ok := g.Specs[0].(*ast.TypeSpec); ok && ts.Name.Name == "fileConfig" {
				doc = g.Doc.Text()
			}
		}
	}
	out := map[string]exampleKey{}
	type level struct {
		indent int
		path   string
	}
	var stack []level
	last := ""
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "\t") {
			continue
		}
		line = strings.TrimPrefix(line, "\t")
		body := strings.TrimLeft(line, " ")
		indent := len(line) - len(body)
		if strings.HasPrefix(body, "#") {
			if last != "" {
				e := out[last]
				e.comment = strings.TrimSpace(e.comment + " " + strings.TrimSpace(strings.TrimPrefix(body, "#")))
				out[last] = e
			}
			continue
		}
		item := false
		if rest, ok := strings.CutPrefix(body, "- "); ok {
			body, item, indent = rest, true, indent+2
		}
		key, rest, ok := strings.Cut(body, ":")
		if !ok || strings.ContainsAny(key, " <") {
			last = ""
			continue
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		if item && len(stack) > 0 {
			// The entry's keys, this one and those below it at its indent, are "parent[].key".
			stack = append(stack, level{indent - 1, stack[len(stack)-1].path + "[]"})
		}
		prefix := ""
		if len(stack) > 0 {
			prefix = stack[len(stack)-1].path + "."
		}
		path := prefix + key
		value, comment, _ := strings.Cut(rest, "#")
		out[path] = exampleKey{value: strings.TrimSpace(value), comment: strings.TrimSpace(comment)}
		stack = append(stack, level{indent, path})
		last = path
	}
	return out
}
