package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geomesh/geomesh/gateway"
	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
)

var (
	key16 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key32 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
)

var fullFile = `
node_id: us-east-1
region: us-east
data_dir: ./data/us-east
roles: [gateway, matcher]
profile: wan
gossip:
  addr: 10.0.0.5:7000
  advertise: 192.0.2.1:7000
  seeds: [10.0.1.5:7000, 10.0.2.5:7000]
  keys: [` + key16 + `]
  region_down_grace: 45s
nats:
  host: 0.0.0.0
  port: 0
cluster:
  host: 10.0.0.5
  port: 6000
  advertise: 192.0.2.1:6000
  secret: from-file
  name: prod
jetstream:
  replicas: 5
  duplicate_window: 5m
  sync_interval: 10s
  sync_always: true
log:
  level: debug
  format: text
  server_log: true
http_addr: 0.0.0.0:8443
admin_addr: 10.0.0.5:9443
admin_token: from-file
bootstrap_keys:
  - account: 7
    api_key: key7
    secret: secret7
    permissions: [read]
  - account: 8
    api_key: key8
    secret: secret8
gateway:
  request_weight_per_minute: -1
  orders_per_10s: 50000
  request_timeout: 3s
  read_your_writes: 500ms
`

func TestLoadFileOnly(t *testing.T) {
	path := writeFile(t, "us-east.yaml", fullFile)
	s, err := parse(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.node
	want := region.DefaultConfig()
	want.NodeID, want.Region, want.Profile = "us-east-1", "us-east", mesh.ProfileWAN
	checks := []struct {
		name      string
		got, want any
	}{
		{"node id", c.NodeID, "us-east-1"},
		{"region", c.Region, "us-east"},
		{"data dir (relative to the file)", c.DataDir, filepath.Join(filepath.Dir(path), "data", "us-east")},
		{"roles", strings.Join(c.Roles, ","), "gateway,matcher"},
		{"profile", c.Profile, mesh.ProfileWAN},
		{"gossip addr", c.GossipAddr, "10.0.0.5:7000"},
		{"gossip advertise", c.GossipAdvertise, "192.0.2.1:7000"},
		{"seeds", strings.Join(c.Seeds, ","), "10.0.1.5:7000,10.0.2.5:7000"},
		{"gossip keys", len(c.GossipKeys), 1},
		{"gossip key", string(c.GossipKeys[0]), "0123456789abcdef"},
		{"region down grace", c.RegionDownGrace, 45 * time.Second},
		{"nats host", c.NATSHost, "0.0.0.0"},
		{"nats port 0 kept (random)", c.NATSPort, 0},
		{"cluster host", c.ClusterHost, "10.0.0.5"},
		{"cluster port", c.ClusterPort, 6000},
		{"cluster advertise", c.ClusterAdvertise, "192.0.2.1:6000"},
		{"cluster secret", c.ClusterSecret, "from-file"},
		{"cluster name", c.ClusterName, "prod"},
		{"replicas", c.Replicas, 5},
		{"duplicate window", c.DuplicateWindow, 5 * time.Minute},
		{"sync interval", c.SyncInterval, 10 * time.Second},
		{"sync always", c.SyncAlways, true},
		{"server log", c.ServerLog, true},
		{"log level", s.logLevel.String(), "DEBUG"},
		{"log format", s.logFormat, "text"},
		{"http addr", s.front.httpAddr, "0.0.0.0:8443"},
		{"admin addr", s.front.adminAddr, "10.0.0.5:9443"},
		{"admin token", s.front.adminToken, "from-file"},
		{"admin token not generated", s.front.tokenGenerated, false},
		{"gateway role", s.front.noGateway, false},
		{"bootstrap keys", len(s.front.keys), 2},
		{"key 1", fmt.Sprint(s.front.keys[0]), fmt.Sprint(gateway.BootstrapKey{APIKey: "key7", Secret: "secret7",
			Account: 7, Permissions: []proto.Permission{proto.Permission_PERMISSION_READ}})},
		{"key 2 (default permissions)", fmt.Sprint(s.front.keys[1]), fmt.Sprint(gateway.BootstrapKey{APIKey: "key8",
			Secret: "secret8", Account: 8})},
		{"weight limit off", s.front.gw.weightLimit, -1},
		{"order limit", s.front.gw.orderLimit10s, 50000},
		{"request timeout", s.front.gw.requestTimeout, 3 * time.Second},
		{"read your writes", s.front.gw.readYourWrites, 500 * time.Millisecond},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestDefaultsByProfile(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantConfig region.Config
		wantFormat string
		env        map[string]string
		wantHTTP   string
		wantAdmin  string
	}{
		{"lan by default", []string{"--node-id", "n1"}, region.DefaultConfig(), "json",
			map[string]string{envAdminToken: "t"}, "127.0.0.1:8080", "127.0.0.1:9090"},
		{"wan", []string{"--profile", "wan"}, func() region.Config {
			c := region.DefaultConfig()
			c.Profile = mesh.ProfileWAN
			return c
		}(), "json", map[string]string{envAdminToken: "t"}, "127.0.0.1:8080", "127.0.0.1:9090"},
		{"local", []string{"--profile", "local"}, region.LocalConfig(), "text", nil, "127.0.0.1:0", "127.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parse(t, tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if s.front.httpAddr != tt.wantHTTP || s.front.adminAddr != tt.wantAdmin || s.front.adminToken == "" ||
				s.front.noGateway || len(s.front.keys) != 0 {
				t.Errorf("front %+v, want http %s, admin %s, a token, a gateway, no keys", s.front, tt.wantHTTP, tt.wantAdmin)
			}
			c, w := s.node, tt.wantConfig
			if c.Profile != w.Profile || c.GossipAddr != w.GossipAddr || c.NATSPort != w.NATSPort ||
				c.ClusterHost != w.ClusterHost || c.ClusterPort != w.ClusterPort || c.Replicas != w.Replicas ||
				c.DuplicateWindow != w.DuplicateWindow || c.ClusterName != w.ClusterName {
				t.Errorf("config = %+v\nwant defaults %+v", c, w)
			}
			if s.logFormat != tt.wantFormat || s.logLevel.String() != "INFO" {
				t.Errorf("log %s %s, want %s INFO", s.logFormat, s.logLevel, tt.wantFormat)
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	path := writeFile(t, "n.yaml", fullFile)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		// check returns "" when s is as expected.
		check func(s settings) string
	}{
		{"env secret beats file", nil, map[string]string{envClusterSecret: "from-env"},
			func(s settings) string { return expect(s.node.ClusterSecret, "from-env") }},
		{"flag secret beats env", []string{"--cluster-secret", "from-flag"}, map[string]string{envClusterSecret: "from-env"},
			func(s settings) string { return expect(s.node.ClusterSecret, "from-flag") }},
		{"empty env keeps file", nil, map[string]string{envClusterSecret: ""},
			func(s settings) string { return expect(s.node.ClusterSecret, "from-file") }},
		{"env gossip keys replace file keys", nil, map[string]string{envGossipKeys: key32 + ", " + key16},
			func(s settings) string {
				if len(s.node.GossipKeys) != 2 || len(s.node.GossipKeys[0]) != 32 || len(s.node.GossipKeys[1]) != 16 {
					return "want two keys, 32-byte primary"
				}
				return ""
			}},
		{"flag keys beat env keys", []string{"--gossip-keys", key32}, map[string]string{envGossipKeys: key16},
			func(s settings) string { return expect(len(s.node.GossipKeys[0]), 32) }},
		{"env admin token beats file", nil, map[string]string{envAdminToken: "from-env"},
			func(s settings) string { return expect(s.front.adminToken, "from-env") }},
		{"flag admin token beats env", []string{"--admin-token", "from-flag"}, map[string]string{envAdminToken: "from-env"},
			func(s settings) string { return expect(s.front.adminToken, "from-flag") }},
		{"address flags beat file", []string{"--http-addr", "127.0.0.1:18080", "--admin-addr", "127.0.0.1:19090"}, nil,
			func(s settings) string {
				return expect(s.front.httpAddr, "127.0.0.1:18080") + expect(s.front.adminAddr, "127.0.0.1:19090")
			}},
		{"no gateway role, no gateway", []string{"--roles", "matcher,controller"}, nil,
			func(s settings) string { return expect(s.front.noGateway, true) }},
		{"flags override file", []string{"--node-id", "n9", "--region", "eu-west", "--data-dir", "rel/dir",
			"--seeds", "10.9.9.9:1,10.9.9.8:2", "--nats-port", "0", "--cluster-port", "6999", "--replicas", "1",
			"--region-down-grace", "2s", "--sync-always=false", "--log-level", "warn", "--log-format", "json",
			"--profile", "lan", "--roles", "controller"}, nil,
			func(s settings) string {
				c := s.node
				return expect(strings.Join([]string{c.NodeID, c.Region, c.DataDir, strings.Join(c.Seeds, " "),
					string(c.Profile), strings.Join(c.Roles, " ")}, "|"),
					"n9|eu-west|rel/dir|10.9.9.9:1 10.9.9.8:2|lan|controller") +
					expect(c.NATSPort, 0) + expect(c.ClusterPort, 6999) + expect(c.Replicas, 1) +
					expect(c.RegionDownGrace, 2*time.Second) + expect(c.SyncAlways, false) +
					expect(s.logLevel.String(), "WARN") + expect(s.logFormat, "json") +
					expect(c.ClusterSecret, "from-file") // not given as a flag: the file's stays
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parse(t, append([]string{"--config", path}, tt.args...), tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(s); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// expect returns "" if got == want, else a short description of the difference.
func expect[T comparable](got, want T) string {
	if got != want {
		return fmt.Sprintf("got %v, want %v; ", got, want)
	}
	return ""
}

// TestBadConfig runs the real command: each bad configuration exits 2 before starting anything,
// with exactly one line on stderr that names the problem.
func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	file := func(body string) string {
		p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".yaml")
		return writeFileAt(t, p, body)
	}
	local := "node_id: n1\nregion: us-east\ndata_dir: ./d\nprofile: local\n"
	lan := "node_id: n1\nregion: us-east\ndata_dir: ./d\n"
	tests := []struct {
		name string
		args func() []string
		env  map[string]string
		want string // substring of the one stderr line
	}{
		{"unknown key", func() []string { return []string{"--config", file(local + "nats_prot: 1\n")} }, nil,
			`line 5: unknown key "nats_prot"`},
		{"unknown nested key", func() []string { return []string{"--config", file(local + "gossip:\n  seed: [a]\n")} }, nil,
			`unknown key "seed"`},
		{"missing file", func() []string { return []string{"--config", filepath.Join(dir, "nope.yaml")} }, nil,
			"nope.yaml: no such file"},
		{"not yaml", func() []string { return []string{"--config", file("node_id: [\n")} }, nil, "line"},
		{"two documents", func() []string { return []string{"--config", file(local + "---\nregion: x\n")} }, nil,
			"one YAML document"},
		{"wrong type", func() []string { return []string{"--config", file(local + "nats:\n  port: high\n")} }, nil,
			"cannot unmarshal"},
		{"bad region name", func() []string { return []string{"--config", file(local), "--region", "US_East"} }, nil,
			`region "US_East"`},
		{"missing data dir", func() []string { return []string{"--profile", "local", "--node-id", "n", "--region", "us-east"} }, nil,
			"data dir is required"},
		{"missing node id", func() []string { return []string{"--profile", "local", "--region", "us-east", "--data-dir", dir} }, nil,
			"node id is required"},
		{"no gossip key with lan", func() []string { return []string{"--config", file(lan)} },
			map[string]string{envClusterSecret: "s", envAdminToken: "t"}, "gossip key is required with the lan profile"},
		{"no cluster secret with wan", func() []string { return []string{"--config", file(lan), "--profile", "wan"} },
			map[string]string{envGossipKeys: key16, envAdminToken: "t"}, "cluster secret is required with the wan profile"},
		{"no admin token with lan", func() []string { return []string{"--config", file(lan)} },
			map[string]string{envClusterSecret: "s", envGossipKeys: key16},
			"admin_token is required with profile lan: set $GEOMESH_ADMIN_TOKEN (or admin_token)"},
		{"empty admin token env with wan", func() []string { return []string{"--config", file(lan), "--profile", "wan"} },
			map[string]string{envClusterSecret: "s", envGossipKeys: key16, envAdminToken: ""},
			"admin_token is required with profile wan"},
		{"bad http addr", func() []string { return []string{"--config", file(local), "--http-addr", "8080"} }, nil,
			`http_addr "8080": want host:port`},
		{"bad admin addr in file", func() []string { return []string{"--config", file(local + "admin_addr: localhost:x\n")} }, nil,
			`admin_addr "localhost:x"`},
		{"gateway and admin on one address", func() []string {
			return []string{"--config", file(local), "--http-addr", "127.0.0.1:8080", "--admin-addr", "127.0.0.1:8080"}
		}, nil, "http_addr and admin_addr are both 127.0.0.1:8080"},
		{"zero order limit", func() []string { return []string{"--config", file(local + "gateway:\n  orders_per_10s: 0\n")} }, nil,
			"gateway.orders_per_10s 0: want a positive limit, or -1 for none"},
		{"bad weight limit", func() []string {
			return []string{"--config", file(local + "gateway:\n  request_weight_per_minute: -5\n")}
		}, nil, "gateway.request_weight_per_minute -5"},
		{"bad request timeout", func() []string { return []string{"--config", file(local + "gateway:\n  request_timeout: 0s\n")} }, nil,
			"gateway.request_timeout 0s: want a positive duration"},
		{"unparsable read_your_writes", func() []string {
			return []string{"--config", file(local + "gateway:\n  read_your_writes: soon\n")}
		}, nil, "gateway.read_your_writes"},
		{"bootstrap key without account", func() []string {
			return []string{"--config", file(local + "bootstrap_keys:\n  - api_key: k\n    secret: s\n")}
		}, nil, "bootstrap_keys[0]: account is required"},
		{"bootstrap key without secret", func() []string {
			return []string{"--config", file(local + "bootstrap_keys:\n  - account: 1\n    api_key: k\n")}
		}, nil, "bootstrap_keys[0]: api_key and secret are required"},
		{"bootstrap key twice", func() []string {
			k := "  - {account: 1, api_key: k, secret: s}\n"
			return []string{"--config", file(local + "bootstrap_keys:\n" + k + k)}
		}, nil, "bootstrap_keys[1]: api_key k is listed twice"},
		{"bootstrap key bad permission", func() []string {
			return []string{"--config", file(local + "bootstrap_keys:\n  - {account: 1, api_key: k, secret: s, permissions: [read, withdraw]}\n")}
		}, nil, `bootstrap_keys[0]: permission "withdraw": want read, trade or admin`},
		{"bootstrap key permission twice", func() []string {
			return []string{"--config", file(local + "bootstrap_keys:\n  - {account: 1, api_key: k, secret: s, permissions: [trade, TRADE]}\n")}
		}, nil, `permission "TRADE" is listed twice`},
		{"unknown profile", func() []string { return []string{"--config", file(local), "--profile", "lam"} }, nil,
			`profile "lam"`},
		{"bad duration in file", func() []string { return []string{"--config", file(local + "gossip:\n  region_down_grace: 5 sec\n")} }, nil,
			`gossip.region_down_grace "5 sec"`},
		{"negative duration in file", func() []string { return []string{"--config", file(local + "jetstream:\n  duplicate_window: -1m\n")} }, nil,
			"jetstream.duplicate_window"},
		{"bad duration flag", func() []string { return []string{"--config", file(local), "--duplicate-window", "2x"} }, nil,
			`"--duplicate-window"`},
		{"duplicate window too short", func() []string { return []string{"--config", file(local), "--duplicate-window", "10ms"} }, nil,
			"duplicate window"},
		{"bad base64 key in env", func() []string { return []string{"--config", file(local)} },
			map[string]string{envGossipKeys: key16 + ",not*base64"}, "GEOMESH_GOSSIP_KEYS: key 2 is not valid base64"},
		{"short key in file", func() []string {
			return []string{"--config", file(local + "gossip:\n  keys: [" + base64.StdEncoding.EncodeToString([]byte("short")) + "]\n")}
		}, nil, "gossip.keys: key 1 is 5 bytes"},
		{"bad key flag", func() []string { return []string{"--config", file(local), "--gossip-keys", "%%"} }, nil,
			"--gossip-keys: key 1 is not valid base64"},
		{"bad seed", func() []string { return []string{"--config", file(local), "--seeds", "10.0.0.1"} }, nil,
			`gossip.seeds "10.0.0.1"`},
		{"bad gossip addr", func() []string { return []string{"--config", file(local + "gossip:\n  addr: 127.0.0.1:99999\n")} }, nil,
			"gossip.addr"},
		{"port out of range", func() []string { return []string{"--config", file(local), "--nats-port", "70000"} }, nil,
			"nats.port 70000"},
		{"bad role", func() []string { return []string{"--config", file(local + "roles: [matcher, broker]\n")} }, nil,
			`role "broker"`},
		{"bad log level", func() []string { return []string{"--config", file(local), "--log-level", "loud"} }, nil,
			`log.level "loud"`},
		{"bad log format", func() []string { return []string{"--config", file(local + "log:\n  format: xml\n")} }, nil,
			`log.format "xml"`},
		{"unknown flag", func() []string { return []string{"--confg", "x"} }, nil, "unknown flag: --confg"},
		{"stray argument", func() []string { return []string{"start"} }, nil, `unknown command "start"`},
		{"demo: bad region", func() []string { return []string{"demo", "--regions", "us-east,EU"} }, nil, `region "EU"`},
		{"demo: region twice", func() []string { return []string{"demo", "--regions", "us-east,us-east"} }, nil, "given twice"},
		{"demo: bad exit-after", func() []string { return []string{"demo", "--exit-after", "soon"} }, nil, `"--exit-after"`},
		{"demo: bad log level", func() []string { return []string{"demo", "--log-level", "loud"} }, nil, "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args(), envMap(tt.env), &stdout, &stderr)
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "regiond: ") {
				t.Fatalf("stderr is not one \"regiond: \" line:\n%s", stderr.String())
			}
			if !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q does not name the problem (want %q)", lines[0], tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version"}, envMap(nil), &stdout, &stderr); code != 0 ||
		stdout.String() != "regiond "+region.Version+"\n" {
		t.Errorf("version: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"--help"}, envMap(nil), &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), envGossipKeys) || !strings.Contains(stdout.String(), "--seeds") {
		t.Errorf("help: exit %d, stdout %q", code, stdout.String())
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""}, {"a", "a"}, {"a,b", "a|b"}, {" a , ,b ,", "a|b"},
	}
	for _, tt := range tests {
		if got := strings.Join(splitList(tt.in), "|"); got != tt.want {
			t.Errorf("splitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeKeys(t *testing.T) {
	raw := []byte("0123456789abcdef01234567")
	tests := []struct {
		name    string
		key     string
		wantLen int
		wantErr string
	}{
		{"std padded 16", key16, 16, ""},
		{"std 24", base64.StdEncoding.EncodeToString(raw), 24, ""},
		{"raw url 32", base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 32))), 32, ""},
		{"not base64", "***", 0, "not valid base64"},
		{"wrong length", base64.StdEncoding.EncodeToString(raw[:20]), 0, "20 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := decodeKeys("k", []string{tt.key})
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("err %v", err)
			case len(keys) != 1 || len(keys[0]) != tt.wantLen:
				t.Errorf("keys %v, want one of %d bytes", keys, tt.wantLen)
			}
		})
	}
}

// TestAdminTokenRule: outside the local profile the admin API needs a configured token; in the
// local profile a missing one is generated, different each time, and marked for logging.
func TestAdminTokenRule(t *testing.T) {
	tests := []struct {
		profile       string
		env           map[string]string
		wantErr       bool
		wantGenerated bool
	}{
		{"local", nil, false, true},
		{"local", map[string]string{envAdminToken: "tok"}, false, false},
		{"lan", nil, true, false},
		{"lan", map[string]string{envAdminToken: "tok"}, false, false},
		{"wan", nil, true, false},
		{"wan", map[string]string{envAdminToken: "tok"}, false, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.profile, len(tt.env)), func(t *testing.T) {
			s, err := parse(t, []string{"--profile", tt.profile}, tt.env)
			if tt.wantErr {
				if !errors.Is(err, errNoAdminToken) {
					t.Fatalf("err %v, want errNoAdminToken", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.front.tokenGenerated != tt.wantGenerated {
				t.Errorf("generated %v, want %v", s.front.tokenGenerated, tt.wantGenerated)
			}
			if want := tt.env[envAdminToken]; !tt.wantGenerated && s.front.adminToken != want {
				t.Errorf("token %q, want %q", s.front.adminToken, want)
			}
			if tt.wantGenerated {
				again, _ := parse(t, []string{"--profile", tt.profile}, tt.env)
				if len(s.front.adminToken) != 2*generatedTokenBytes || again.front.adminToken == s.front.adminToken {
					t.Errorf("generated tokens %q, %q: want two different %d-character tokens",
						s.front.adminToken, again.front.adminToken, 2*generatedTokenBytes)
				}
			}
		})
	}
}
