package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/geomesh/geomesh/gateway"
	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/region/status"
)

// Environment variables that may carry secrets, so they need not be written in files.
const (
	// envClusterSecret is the route credential shared by every node (cluster.secret).
	envClusterSecret = "GEOMESH_CLUSTER_SECRET"
	// envGossipKeys is the gossip keyring: comma-separated base64 keys of 16, 24 or 32 bytes,
	// the first one primary (gossip.keys).
	envGossipKeys = "GEOMESH_GOSSIP_KEYS"
	// envAdminToken is the bearer token of the admin API (admin_token).
	envAdminToken = "GEOMESH_ADMIN_TOKEN"
)

// Listen addresses of the gateway (client API) and the admin API. The local profile picks free
// ports, so tests and several nodes on one machine never clash.
const (
	defaultHTTPAddr     = "127.0.0.1:8080"
	defaultAdminAddr    = "127.0.0.1:9090"
	localHTTPAddr       = "127.0.0.1:0"
	localAdminAddr      = "127.0.0.1:0"
	generatedTokenBytes = 16 // a generated admin token is 32 hex characters
	// On SIGTERM the gateway answers /readyz 503 for drain_wait while still serving, then sends
	// serverShutdown to its WebSocket clients spread over ws_drain_window (lan and wan; the
	// local profile stops at once).
	defaultDrainWait     = 5 * time.Second
	defaultWSDrainWindow = 10 * time.Second
)

// fileConfig is the schema of a regiond config file. Unknown keys are refused. Every key is
// optional in the file; a key left out keeps the default of the profile (region.DefaultConfig
// for lan and wan, region.LocalConfig for local), and flags override keys. Pointers tell "not
// set" from an explicit zero (port 0 means a random port).
//
//	node_id: us-east-1              # required (here or --node-id)
//	region: us-east                 # required; lower-case, digits and '-'
//	data_dir: ./data/us-east        # required; relative paths are relative to this file
//	roles: [gateway, matcher, controller]
//	profile: lan                    # lan (default), wan or local
//	gossip:
//	  addr: 0.0.0.0:7946            # bind host:port
//	  advertise: 10.0.0.5:7946      # what other nodes dial, if it differs
//	  seeds: [10.0.1.5:7946]        # one reachable seed is enough
//	  keys: [<base64>]              # prefer GEOMESH_GOSSIP_KEYS; required for lan and wan
//	  region_down_grace: 5s
//	nats:
//	  host: 127.0.0.1
//	  port: 4222
//	cluster:
//	  host: 0.0.0.0
//	  port: 6222
//	  advertise: 10.0.0.5:6222
//	  secret: <secret>              # prefer GEOMESH_CLUSTER_SECRET; required for lan and wan
//	  name: geomesh
//	jetstream:
//	  replicas: 3
//	  duplicate_window: 2m
//	  sync_interval: 0s             # 0 keeps nats-server's default
//	  sync_always: false
//	http_addr: 127.0.0.1:8080       # gateway (Binance REST + WebSocket); local profile: 127.0.0.1:0
//	drain_wait: 5s                  # on SIGTERM: /readyz 503 this long before stopping (local: 0s)
//	ws_drain_window: 10s            # then serverShutdown to WebSocket clients over this (local: 0s)
//	gateway:                        # the Binance API's limits and waits (exchangeInfo shows the limits)
//	  request_weight_per_minute: 6000 # REQUEST_WEIGHT per client IP; -1: no limit
//	  orders_per_10s: 100           # ORDERS per account per 10 s; -1: no limit
//	  request_timeout: 10s          # wait for an order's outcome before -1007 (unknown)
//	  read_your_writes: 2s          # longest wait for the local replica before answering
//	admin_addr: 127.0.0.1:9090      # admin API for meshctl; local profile: 127.0.0.1:0
//	admin_token: <token>            # prefer GEOMESH_ADMIN_TOKEN; required for lan and wan,
//	                                # generated and logged when absent in the local profile
//	bootstrap_keys:                 # API keys created in ACCOUNTS at start unless they exist
//	  - account: 1
//	    api_key: <key>              # [A-Za-z0-9], as clients send it in X-MBX-APIKEY
//	    secret: <secret>            # HMAC-SHA256 secret
//	    permissions: [read, trade]  # default both
//	webhooks:                       # status notifications, sent by the active controller
//	  - url: https://hooks.example/geomesh
//	    secret: <secret>            # HMAC-SHA256 key of X-Geomesh-Signature
//	log:
//	  level: info                   # debug, info, warn, error
//	  format: json                  # json (default for lan, wan) or text (default for local)
//	  server_log: false             # route nats-server's own log into ours
type fileConfig struct {
	NodeID    string           `yaml:"node_id"`
	Region    string           `yaml:"region"`
	DataDir   string           `yaml:"data_dir"`
	Roles     []string         `yaml:"roles"`
	Profile   string           `yaml:"profile"`
	Gossip    gossipSection    `yaml:"gossip"`
	NATS      natsSection      `yaml:"nats"`
	Cluster   clusterSection   `yaml:"cluster"`
	JetStream jetStreamSection `yaml:"jetstream"`
	Log       logSection       `yaml:"log"`

	HTTPAddr      string                `yaml:"http_addr"`
	AdminAddr     string                `yaml:"admin_addr"`
	AdminToken    string                `yaml:"admin_token"`
	BootstrapKeys []bootstrapKeySection `yaml:"bootstrap_keys"`
	Gateway       gatewaySection        `yaml:"gateway"`
	DrainWait     string                `yaml:"drain_wait"`
	WSDrainWindow string                `yaml:"ws_drain_window"`

	SettleWindow     string           `yaml:"settle_window"`
	LeaseTTL         string           `yaml:"lease_ttl"`
	SnapshotEvery    *int             `yaml:"snapshot_every"`
	SnapshotInterval string           `yaml:"snapshot_interval"`
	AppendTimeout    string           `yaml:"append_timeout"`
	SubmitTimeout    string           `yaml:"submit_timeout"`
	Symbols          []symbolSection  `yaml:"symbols"`
	Webhooks         []webhookSection `yaml:"webhooks"`

	// keysFrom names where Gossip.Keys came from, for error messages.
	keysFrom string
}

// gatewaySection holds the gateway's client-facing limits and waits; absent keys keep
// gateway.DefaultConfig's values.
type gatewaySection struct {
	RequestWeightPerMinute *int   `yaml:"request_weight_per_minute"`
	OrdersPer10s           *int   `yaml:"orders_per_10s"`
	RequestTimeout         string `yaml:"request_timeout"`
	ReadYourWrites         string `yaml:"read_your_writes"`
}

type gossipSection struct {
	Addr            string   `yaml:"addr"`
	Advertise       string   `yaml:"advertise"`
	Seeds           []string `yaml:"seeds"`
	Keys            []string `yaml:"keys"`
	RegionDownGrace string   `yaml:"region_down_grace"`
}

type natsSection struct {
	Host string `yaml:"host"`
	Port *int   `yaml:"port"`
}

type clusterSection struct {
	Host      string `yaml:"host"`
	Port      *int   `yaml:"port"`
	Advertise string `yaml:"advertise"`
	Secret    string `yaml:"secret"`
	Name      string `yaml:"name"`
}

type jetStreamSection struct {
	Replicas        *int   `yaml:"replicas"`
	DuplicateWindow string `yaml:"duplicate_window"`
	SyncInterval    string `yaml:"sync_interval"`
	SyncAlways      *bool  `yaml:"sync_always"`
}

// symbolSection is one entry of symbols. The decimal fields are strings; an unquoted YAML number
// is taken as written (0.00001 stays "0.00001").
type symbolSection struct {
	Symbol           string   `yaml:"symbol"`
	BaseAsset        string   `yaml:"base_asset"`
	QuoteAsset       string   `yaml:"quote_asset"`
	TickSize         string   `yaml:"tick_size"`
	StepSize         string   `yaml:"step_size"`
	MinPrice         string   `yaml:"min_price"`
	MaxPrice         string   `yaml:"max_price"`
	MinQty           string   `yaml:"min_qty"`
	MaxQty           string   `yaml:"max_qty"`
	MinNotional      string   `yaml:"min_notional"`
	MaxNotional      string   `yaml:"max_notional"`
	MaxNumOrders     uint32   `yaml:"max_num_orders"`
	PreferredRegions []string `yaml:"preferred_regions"`
	FailoverPolicy   string   `yaml:"failover_policy"`
}

func (s symbolSection) config() region.SymbolConfig {
	return region.SymbolConfig{
		Symbol: s.Symbol, BaseAsset: s.BaseAsset, QuoteAsset: s.QuoteAsset,
		TickSize: s.TickSize, StepSize: s.StepSize, MinPrice: s.MinPrice, MaxPrice: s.MaxPrice,
		MinQty: s.MinQty, MaxQty: s.MaxQty, MinNotional: s.MinNotional, MaxNotional: s.MaxNotional,
		MaxNumOrders: s.MaxNumOrders, Preferred: s.PreferredRegions, FailoverPolicy: s.FailoverPolicy,
	}
}

// webhookSection is one entry of webhooks.
type webhookSection struct {
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
}

// bootstrapKeySection is one entry of bootstrap_keys.
type bootstrapKeySection struct {
	Account     uint64   `yaml:"account"`
	APIKey      string   `yaml:"api_key"`
	Secret      string   `yaml:"secret"`
	Permissions []string `yaml:"permissions"`
}

type logSection struct {
	Level     string `yaml:"level"`
	Format    string `yaml:"format"`
	ServerLog *bool  `yaml:"server_log"`
}

// settings is a fully resolved configuration: the node's and the daemon's own.
type settings struct {
	node      region.Config
	logLevel  slog.Level
	logFormat string // "json" or "text"
	front     frontConfig
}

// unknownFieldRE rewrites yaml's strict-mode message into one naming the key.
var unknownFieldRE = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)

// loadFile decodes the config file at path. Relative data_dir is made relative to the file's
// directory, so a config works whatever the working directory.
func loadFile(path string) (fileConfig, error) {
	var fc fileConfig
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fc, fmt.Errorf("config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return fc, fmt.Errorf("config %s: %s", path, yamlReason(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fc, fmt.Errorf("config %s: want one YAML document", path)
	}
	if fc.DataDir != "" && !filepath.IsAbs(fc.DataDir) {
		fc.DataDir = filepath.Join(filepath.Dir(path), fc.DataDir)
	}
	if len(fc.Gossip.Keys) > 0 {
		fc.keysFrom = "gossip.keys"
	}
	return fc, nil
}

// yamlReason turns a yaml error into one line: "line 3: unknown key \"nats_prot\"; ...".
func yamlReason(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return strings.ReplaceAll(strings.TrimPrefix(err.Error(), "yaml: "), "\n", " ")
	}
	parts := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		if m := unknownFieldRE.FindStringSubmatch(e); m != nil {
			e = fmt.Sprintf("line %s: unknown key %q", m[1], m[2])
		}
		parts[i] = e
	}
	return strings.Join(parts, "; ")
}

// applyEnv overrides the file's secrets with the environment's.
func (fc *fileConfig) applyEnv(lookup func(string) (string, bool)) {
	if v, ok := lookup(envClusterSecret); ok && v != "" {
		fc.Cluster.Secret = v
	}
	if v, ok := lookup(envGossipKeys); ok && v != "" {
		fc.Gossip.Keys = splitList(v)
		fc.keysFrom = envGossipKeys
	}
	if v, ok := lookup(envAdminToken); ok && v != "" {
		fc.AdminToken = v
	}
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// resolve turns the merged file, environment and flags into settings, checking everything that
// can be checked without starting anything. region.New validates the rest.
func (fc *fileConfig) resolve() (settings, error) {
	var s settings
	profile := mesh.Profile(fc.Profile)
	if profile == "" {
		profile = mesh.ProfileLAN
	}
	switch profile {
	case mesh.ProfileLocal:
		s.node = region.LocalConfig()
	case mesh.ProfileLAN, mesh.ProfileWAN:
		s.node = region.DefaultConfig()
		s.node.Profile = profile
	default:
		return s, fmt.Errorf("profile %q: want lan, wan or local", fc.Profile)
	}
	c := &s.node
	setStr(&c.NodeID, fc.NodeID)
	setStr(&c.Region, fc.Region)
	setStr(&c.DataDir, fc.DataDir)
	if fc.Roles != nil {
		c.Roles = fc.Roles
	}

	if err := checkHostPort("gossip.addr", fc.Gossip.Addr); err != nil {
		return s, err
	}
	setStr(&c.GossipAddr, fc.Gossip.Addr)
	if err := checkHostPort("gossip.advertise", fc.Gossip.Advertise); err != nil {
		return s, err
	}
	setStr(&c.GossipAdvertise, fc.Gossip.Advertise)
	for _, seed := range fc.Gossip.Seeds {
		if err := checkHostPort("gossip.seeds", seed); err != nil {
			return s, err
		}
	}
	c.Seeds = fc.Gossip.Seeds
	keys, err := decodeKeys(fc.keysFrom, fc.Gossip.Keys)
	if err != nil {
		return s, err
	}
	c.GossipKeys = keys
	if err := setDuration(&c.RegionDownGrace, "gossip.region_down_grace", fc.Gossip.RegionDownGrace); err != nil {
		return s, err
	}

	setStr(&c.NATSHost, fc.NATS.Host)
	if err := setPort(&c.NATSPort, "nats.port", fc.NATS.Port); err != nil {
		return s, err
	}
	setStr(&c.ClusterHost, fc.Cluster.Host)
	if err := setPort(&c.ClusterPort, "cluster.port", fc.Cluster.Port); err != nil {
		return s, err
	}
	if err := checkHostPort("cluster.advertise", fc.Cluster.Advertise); err != nil {
		return s, err
	}
	setStr(&c.ClusterAdvertise, fc.Cluster.Advertise)
	setStr(&c.ClusterSecret, fc.Cluster.Secret)
	setStr(&c.ClusterName, fc.Cluster.Name)

	if fc.JetStream.Replicas != nil {
		c.Replicas = *fc.JetStream.Replicas
	}
	if err := setDuration(&c.DuplicateWindow, "jetstream.duplicate_window", fc.JetStream.DuplicateWindow); err != nil {
		return s, err
	}
	if err := setDuration(&c.SyncInterval, "jetstream.sync_interval", fc.JetStream.SyncInterval); err != nil {
		return s, err
	}
	if fc.JetStream.SyncAlways != nil {
		c.SyncAlways = *fc.JetStream.SyncAlways
	}

	if err := fc.resolveMatching(c); err != nil {
		return s, err
	}
	if s.front, err = fc.resolveFront(profile); err != nil {
		return s, err
	}
	s.front.noGateway = !slices.Contains(c.Roles, region.RoleGateway)

	s.logLevel = slog.LevelInfo
	if fc.Log.Level != "" {
		if err := s.logLevel.UnmarshalText([]byte(fc.Log.Level)); err != nil {
			return s, fmt.Errorf("log.level %q: want debug, info, warn or error", fc.Log.Level)
		}
	}
	s.logFormat = "json"
	if profile == mesh.ProfileLocal {
		s.logFormat = "text"
	}
	switch fc.Log.Format {
	case "":
	case "json", "text":
		s.logFormat = fc.Log.Format
	default:
		return s, fmt.Errorf("log.format %q: want json or text", fc.Log.Format)
	}
	if fc.Log.ServerLog != nil {
		c.ServerLog = *fc.Log.ServerLog
	}
	return s, nil
}

// resolveMatching sets the matcher, controller and symbol keys. region.Config.Validate checks
// the ranges and each symbol's spec; this checks what only the file can get wrong.
func (fc *fileConfig) resolveMatching(c *region.Config) error {
	for _, d := range []struct {
		dst *time.Duration
		key string
		v   string
	}{
		{&c.SettleWindow, "settle_window", fc.SettleWindow},
		{&c.LeaseTTL, "lease_ttl", fc.LeaseTTL},
		{&c.SnapshotInterval, "snapshot_interval", fc.SnapshotInterval},
		{&c.AppendTimeout, "append_timeout", fc.AppendTimeout},
		{&c.SubmitTimeout, "submit_timeout", fc.SubmitTimeout},
	} {
		if err := setDuration(d.dst, d.key, d.v); err != nil {
			return err
		}
	}
	if fc.SnapshotEvery != nil {
		c.SnapshotEvery = *fc.SnapshotEvery
	}
	if fc.SnapshotInterval != "" && c.SnapshotInterval == 0 {
		return fmt.Errorf("snapshot_interval %q: want a positive duration", fc.SnapshotInterval)
	}
	seen := map[string]bool{}
	c.Symbols = nil
	for i, sym := range fc.Symbols {
		if sym.Symbol == "" {
			return fmt.Errorf("symbols[%d]: symbol is required", i)
		}
		if seen[sym.Symbol] {
			return fmt.Errorf("symbols: %s is listed twice", sym.Symbol)
		}
		seen[sym.Symbol] = true
		c.Symbols = append(c.Symbols, sym.config())
	}
	c.Webhooks = nil
	for i, w := range fc.Webhooks {
		hook := status.Webhook{URL: w.URL, Secret: w.Secret}
		if err := hook.Validate(); err != nil {
			return fmt.Errorf("webhooks[%d]: %w", i, err)
		}
		c.Webhooks = append(c.Webhooks, hook)
	}
	return nil
}

// resolveFront sets the gateway and admin API keys. The admin API is never open: outside the
// local profile a token is required; in the local profile a missing one is generated (and
// logged once by runNode).
func (fc *fileConfig) resolveFront(profile mesh.Profile) (frontConfig, error) {
	f := frontConfig{httpAddr: defaultHTTPAddr, adminAddr: defaultAdminAddr, adminToken: fc.AdminToken}
	if profile == mesh.ProfileLocal {
		f.httpAddr, f.adminAddr = localHTTPAddr, localAdminAddr
	}
	for _, a := range []struct {
		dst      *string
		key, val string
	}{{&f.httpAddr, "http_addr", fc.HTTPAddr}, {&f.adminAddr, "admin_addr", fc.AdminAddr}} {
		if err := checkHostPort(a.key, a.val); err != nil {
			return f, err
		}
		setStr(a.dst, a.val)
	}
	if f.httpAddr == f.adminAddr && !strings.HasSuffix(f.httpAddr, ":0") {
		return f, fmt.Errorf("http_addr and admin_addr are both %s: want two addresses", f.httpAddr)
	}
	f.drainWait, f.wsDrainWindow = defaultDrainWait, defaultWSDrainWindow
	if profile == mesh.ProfileLocal {
		f.drainWait, f.wsDrainWindow = 0, 0
	}
	if err := setDuration(&f.drainWait, "drain_wait", fc.DrainWait); err != nil {
		return f, err
	}
	if err := setDuration(&f.wsDrainWindow, "ws_drain_window", fc.WSDrainWindow); err != nil {
		return f, err
	}
	if f.drainWait < 0 || f.wsDrainWindow < 0 {
		return f, fmt.Errorf("drain_wait and ws_drain_window: want 0 or more")
	}
	if f.adminToken == "" {
		if profile != mesh.ProfileLocal {
			return f, fmt.Errorf("%w with profile %s: set $%s (or admin_token)", errNoAdminToken, profile, envAdminToken)
		}
		f.adminToken, f.tokenGenerated = randomToken(), true
	}
	keys, err := resolveBootstrapKeys(fc.BootstrapKeys)
	if err != nil {
		return f, err
	}
	f.keys = keys
	if err := fc.Gateway.resolve(&f.gw); err != nil {
		return f, err
	}
	return f, nil
}

// resolve applies the gateway section to g (gateway.DefaultConfig's values where absent).
func (gs gatewaySection) resolve(g *gatewaySettings) error {
	d := gateway.DefaultConfig()
	*g = gatewaySettings{weightLimit: d.WeightLimit, orderLimit10s: d.OrderLimit10s,
		requestTimeout: d.RequestTimeout, readYourWrites: d.ReadYourWrites}
	for _, l := range []struct {
		dst *int
		key string
		v   *int
	}{
		{&g.weightLimit, "gateway.request_weight_per_minute", gs.RequestWeightPerMinute},
		{&g.orderLimit10s, "gateway.orders_per_10s", gs.OrdersPer10s},
	} {
		if l.v == nil {
			continue
		}
		if *l.v == 0 || *l.v < -1 {
			return fmt.Errorf("%s %d: want a positive limit, or -1 for none", l.key, *l.v)
		}
		*l.dst = *l.v
	}
	for _, w := range []struct {
		dst *time.Duration
		key string
		v   string
	}{
		{&g.requestTimeout, "gateway.request_timeout", gs.RequestTimeout},
		{&g.readYourWrites, "gateway.read_your_writes", gs.ReadYourWrites},
	} {
		if err := setDuration(w.dst, w.key, w.v); err != nil {
			return err
		}
	}
	if g.requestTimeout <= 0 {
		return fmt.Errorf("gateway.request_timeout %v: want a positive duration", g.requestTimeout)
	}
	if g.readYourWrites < 0 {
		return fmt.Errorf("gateway.read_your_writes %v: want 0 or more", g.readYourWrites)
	}
	return nil
}

// resolveBootstrapKeys checks bootstrap_keys: an account, a key and its secret, known
// permissions, no key twice. The gateway checks the key's characters when it stores it.
func resolveBootstrapKeys(in []bootstrapKeySection) ([]gateway.BootstrapKey, error) {
	var out []gateway.BootstrapKey
	seen := map[string]bool{}
	for i, k := range in {
		where := fmt.Sprintf("bootstrap_keys[%d]", i)
		switch {
		case k.Account == 0:
			return nil, fmt.Errorf("%s: account is required (a positive number)", where)
		case k.APIKey == "" || k.Secret == "":
			return nil, fmt.Errorf("%s: api_key and secret are required", where)
		case seen[k.APIKey]:
			return nil, fmt.Errorf("%s: api_key %s is listed twice", where, k.APIKey)
		}
		seen[k.APIKey] = true
		bk := gateway.BootstrapKey{APIKey: k.APIKey, Secret: k.Secret, Account: k.Account}
		for _, p := range k.Permissions {
			perm, ok := permissions[strings.ToLower(p)]
			if !ok {
				return nil, fmt.Errorf("%s: permission %q: want read, trade or admin", where, p)
			}
			if slices.Contains(bk.Permissions, perm) {
				return nil, fmt.Errorf("%s: permission %q is listed twice", where, p)
			}
			bk.Permissions = append(bk.Permissions, perm)
		}
		out = append(out, bk)
	}
	return out, nil
}

// permissions are the names of bootstrap_keys[].permissions.
var permissions = map[string]proto.Permission{
	"read":  proto.Permission_PERMISSION_READ,
	"trade": proto.Permission_PERMISSION_TRADE,
	"admin": proto.Permission_PERMISSION_ADMIN,
}

// randomToken is a fresh admin token: 32 hex characters from crypto/rand.
func randomToken() string {
	b := make([]byte, generatedTokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand panics on failure)
	return hex.EncodeToString(b)
}

func setStr(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setDuration(dst *time.Duration, key, v string) error {
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("%s %q: want a duration such as 500ms, 5s or 2m", key, v)
	}
	*dst = d
	return nil
}

func setPort(dst *int, key string, p *int) error {
	if p == nil {
		return nil
	}
	if *p < 0 || *p > 65535 {
		return fmt.Errorf("%s %d: want 0 (random) to 65535", key, *p)
	}
	*dst = *p
	return nil
}

// checkHostPort accepts "" (not set) or "host:port" with a numeric port.
func checkHostPort(key, v string) error {
	if v == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(v)
	if err == nil {
		var n int
		if _, err = fmt.Sscanf(port, "%d", &n); err == nil && (n < 0 || n > 65535 || fmt.Sprint(n) != port) {
			err = errors.New("bad port")
		}
	}
	if err != nil {
		return fmt.Errorf("%s %q: want host:port", key, v)
	}
	return nil
}

// decodeKeys decodes base64 gossip keys (standard or URL alphabet, padded or not) and checks
// their length.
func decodeKeys(from string, keys []string) ([][]byte, error) {
	var out [][]byte
	for i, k := range keys {
		var b []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding,
			base64.URLEncoding, base64.RawURLEncoding} {
			if b, err = enc.DecodeString(k); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: key %d is not valid base64", from, i+1)
		}
		if n := len(b); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("%s: key %d is %d bytes, want 16, 24 or 32", from, i+1, n)
		}
		out = append(out, b)
	}
	return out, nil
}
