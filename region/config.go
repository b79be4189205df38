package region

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/region/status"
)

// Config configures one regional node. Every field is documented with its default; build one
// with DefaultConfig (production) or LocalConfig (tests and the demo) and adjust.
type Config struct {
	// NodeID names the node uniquely in the mesh; also the nats-server name. Required.
	NodeID string
	// Region is the region the node belongs to, e.g. "us-east". Required; ^[a-z][a-z0-9-]{1,30}$.
	Region string
	// DataDir holds the JetStream store. Required; created if missing.
	DataDir string
	// Roles this node plays: "gateway", "matcher", "controller". Default: all three.
	Roles []string

	// Profile selects gossip timings and whether a gossip key is required (LAN, WAN: required).
	Profile mesh.Profile
	// GossipAddr is the gossip bind "host:port"; port 0 picks a free one. Default "0.0.0.0:7946".
	GossipAddr string
	// GossipAdvertise is the gossip address other nodes use, when it differs from GossipAddr.
	GossipAdvertise string
	// Seeds are gossip addresses of existing nodes; one reachable seed is enough to join.
	Seeds []string
	// GossipKeys is the gossip encryption keyring (16, 24 or 32 bytes each); the first is primary.
	GossipKeys [][]byte
	// RegionDownGrace: how long every node of a region must be dead before it is declared down.
	// Zero keeps the mesh profile's default.
	RegionDownGrace time.Duration

	// NATSHost and NATSPort: the client listener of the embedded nats-server. Port 0 = random.
	// Default 127.0.0.1:4222 (clients reach the mesh through the gateway, not NATS directly).
	NATSHost string
	NATSPort int
	// ClusterHost and ClusterPort: the route listener other regions connect to. Port 0 = random.
	// Default 0.0.0.0:6222.
	ClusterHost string
	ClusterPort int
	// ClusterAdvertise is the route address announced to other servers and in gossip
	// ("host:port"); empty = derived from the listener.
	ClusterAdvertise string
	// ClusterSecret authenticates route connections (every node of the mesh must share it).
	// Required outside the local profile.
	ClusterSecret string
	// ClusterName is the NATS cluster name; every node must share it. Default "geomesh".
	ClusterName string

	// Replicas of every stream and bucket. Default 3 (one per region, via unique_tag).
	Replicas int
	// DuplicateWindow of the command streams: how long a dedupe id (Nats-Msg-Id) is remembered.
	// Default 2 minutes.
	DuplicateWindow time.Duration
	// SyncInterval is how often the JetStream file store fsyncs; 0 keeps nats-server's default
	// (2 minutes); SyncAlways fsyncs every write (about 3.5x the append latency, see engine-facts).
	SyncInterval time.Duration
	SyncAlways   bool

	// AppendTimeout: how long a matcher keeps retrying an EVT append before it gives up (it lost
	// quorum: a minority partition) and stops. Default 3 s.
	AppendTimeout time.Duration
	// SubmitTimeout bounds the append of one client command including retries across a stream
	// leader election (4-9 s after an abrupt loss). Default 12 s.
	SubmitTimeout time.Duration
	// SnapshotEvery and SnapshotInterval: a matcher snapshots after this many commands or this
	// long, whichever comes first. Defaults 10,000 and 30 s.
	SnapshotEvery    int
	SnapshotInterval time.Duration
	// SettleWindow is how long a failed-over symbol stays CANCEL_ONLY under the default policy
	// before the controller sets it TRADING. Default 10 s.
	SettleWindow time.Duration
	// LeaseTTL of the controller lease; the holder renews every LeaseTTL/3 and stops acting
	// when it could not renew for LeaseTTL. Default 3 s.
	LeaseTTL time.Duration
	// Symbols configured on this node: created in OWNERS (placed on their first preferred live
	// region) by the controller when they do not exist yet.
	Symbols []SymbolConfig

	// RouteURL maps a peer's advertised route URL to the URL this node dials. nil = identity.
	// The test harness uses it to put a proxy on every link (partitions, added latency).
	RouteURL func(peer mesh.Node) string
	// TuneMesh, when set, adjusts the gossip configuration after the node has filled it in
	// (tests use it to install a mesh.FilterTransport for partitions).
	TuneMesh func(*mesh.Config) error

	// Webhooks receive a signed notification of every incident and maintenance update, sent by
	// the active controller (see package status). Default none.
	Webhooks []status.Webhook
	// WebhookBackoff is the retry schedule of a failed notification (default 250 ms doubling
	// to 30 s, 6 attempts).
	WebhookBackoff status.Backoff
	// StatusPageURL is the public base URL of the status page, used in links of webhook bodies
	// (e.g. "https://status.example"). Default empty (relative links).
	StatusPageURL string
	// IncidentResolveAfter resolves a failover incident whose region stays down once every moved
	// symbol has been settled this long (the region's components stay major_outage). 0 keeps
	// it open until the region is back. Default 30 minutes.
	IncidentResolveAfter time.Duration

	// Logger receives the node's structured log; nil discards it.
	Logger *slog.Logger
	// ServerLog routes nats-server's own log into Logger (noisy; off by default).
	ServerLog bool
}

// DefaultConfig is a production node: LAN gossip timings, gossip key and cluster secret required.
func DefaultConfig() Config {
	return Config{
		Roles:            []string{RoleGateway, RoleMatcher, RoleController},
		Profile:          mesh.ProfileLAN,
		GossipAddr:       "0.0.0.0:7946",
		NATSHost:         "127.0.0.1",
		NATSPort:         4222,
		ClusterHost:      "0.0.0.0",
		ClusterPort:      6222,
		ClusterName:      "geomesh",
		Replicas:         3,
		DuplicateWindow:  2 * time.Minute,
		AppendTimeout:    3 * time.Second,
		SubmitTimeout:    12 * time.Second,
		SnapshotEvery:    10000,
		SnapshotInterval: 30 * time.Second,
		SettleWindow:     10 * time.Second,
		LeaseTTL:         3 * time.Second,

		IncidentResolveAfter: 30 * time.Minute,
	}
}

// SymbolConfig configures one symbol: its spec (decimal strings as in exchangeInfo filters),
// ordered preferred regions and failover policy ("settle_then_trade" (default),
// "cancel_open_orders", "halt").
type SymbolConfig struct {
	Symbol, BaseAsset, QuoteAsset string
	TickSize, StepSize            string
	MinPrice, MaxPrice            string
	MinQty, MaxQty                string
	MinNotional, MaxNotional      string
	MaxNumOrders                  uint32
	Preferred                     []string
	FailoverPolicy                string
}

// LocalConfig is a node for tests and the demo: loopback only, random ports, fast failure
// detection, no gossip key required.
func LocalConfig() Config {
	c := DefaultConfig()
	c.Profile = mesh.ProfileLocal
	c.GossipAddr = "127.0.0.1:0"
	c.NATSPort = 0
	c.ClusterHost = "127.0.0.1"
	c.ClusterPort = 0
	return c
}

// Roles a node can play.
const (
	RoleGateway    = "gateway"
	RoleMatcher    = "matcher"
	RoleController = "controller"
)

var (
	regionRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}$`)
	nodeRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

// Validate reports the first problem with c as a one-line reason.
func (c Config) Validate() error {
	switch {
	case c.NodeID == "":
		return errors.New("node id is required")
	case !nodeRE.MatchString(c.NodeID):
		return fmt.Errorf("node id %q: want letters, digits, '.', '_' or '-' (at most 63)", c.NodeID)
	case c.Region == "":
		return errors.New("region is required")
	case !regionRE.MatchString(c.Region):
		return fmt.Errorf("region %q: want lower-case letters, digits and '-', starting with a letter (e.g. us-east)", c.Region)
	case c.DataDir == "":
		return errors.New("data dir is required (the JetStream store)")
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("replicas %d: want 1 to 5", c.Replicas)
	case c.DuplicateWindow < time.Second:
		return fmt.Errorf("duplicate window %v: want at least 1s", c.DuplicateWindow)
	case c.ClusterName == "":
		return errors.New("cluster name is required")
	case c.Profile != mesh.ProfileLocal && c.ClusterSecret == "":
		return fmt.Errorf("cluster secret is required with the %s profile (routes are authenticated)", c.Profile)
	case c.Profile != mesh.ProfileLocal && len(c.GossipKeys) == 0:
		return fmt.Errorf("gossip key is required with the %s profile", c.Profile)
	case c.AppendTimeout < 100*time.Millisecond || c.SubmitTimeout < 100*time.Millisecond:
		return fmt.Errorf("append and submit timeouts must be at least 100ms")
	case c.SnapshotEvery < 1:
		return fmt.Errorf("snapshot every %d commands: want at least 1", c.SnapshotEvery)
	case c.LeaseTTL < 300*time.Millisecond:
		return fmt.Errorf("lease ttl %v: want at least 300ms", c.LeaseTTL)
	case c.SettleWindow < 0:
		return fmt.Errorf("settle window %v: must not be negative", c.SettleWindow)
	}
	for _, w := range c.Webhooks {
		if err := w.Validate(); err != nil {
			return err
		}
	}
	for _, s := range c.Symbols {
		if _, err := s.record(); err != nil {
			return err
		}
	}
	for _, r := range c.Roles {
		switch r {
		case RoleGateway, RoleMatcher, RoleController:
		default:
			return fmt.Errorf("role %q: want gateway, matcher or controller", r)
		}
	}
	return nil
}

func (c Config) hasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}
