package mesh

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Profile selects memberlist's timings.
type Profile string

// Profiles.
const (
	// ProfileLAN uses memberlist.DefaultLANConfig: an abruptly dead node is declared dead by
	// all others in about 6 s.
	ProfileLAN Profile = "lan"
	// ProfileWAN uses memberlist.DefaultWANConfig: about 40 s to declare a node dead, tolerant
	// of lossy long links.
	ProfileWAN Profile = "wan"
	// ProfileLocal is LAN with probe interval 200 ms, probe timeout 100 ms, suspicion
	// multiplier 2 and gossip every 100 ms: an abruptly dead node is declared dead in about
	// 1 s. For loopback clusters (tests, `regiond demo`).
	ProfileLocal Profile = "local"
)

// Config configures a Mesh. The zero value is not usable; start from DefaultLANConfig,
// DefaultWANConfig or LocalConfig and set Meta (and Keys for LAN/WAN).
type Config struct {
	// NodeName is the memberlist node name, unique in the mesh. Empty means Meta.NodeID.
	NodeName string
	// BindAddr is the IP address gossip listens on (TCP and UDP). Default "0.0.0.0"
	// ("127.0.0.1" in LocalConfig).
	BindAddr string
	// BindPort is the gossip port (TCP and UDP). 0 picks a port free for both; Mesh.Addr
	// reports the actual address. Default 7946 (0 in LocalConfig).
	BindPort int
	// AdvertiseAddr is the IP address other nodes use to reach this one. Empty means the bind
	// address (or a private IP when bound to 0.0.0.0).
	AdvertiseAddr string
	// AdvertisePort is the port other nodes use to reach this one. 0 means the bind port.
	AdvertisePort int
	// Seeds are "host:port" gossip addresses Start joins. Empty starts a new mesh.
	Seeds []string
	// Profile selects memberlist timings (see Profile). Required.
	Profile Profile
	// Keys is the gossip encryption keyring (AES keys of 16, 24 or 32 bytes); Keys[0] is the
	// primary key used to encrypt, all keys are tried to decrypt (key rotation). Required for
	// ProfileLAN and ProfileWAN, optional for ProfileLocal. Nodes with disjoint keys cannot
	// talk to each other.
	Keys [][]byte
	// RegionDownGrace is how long a region must have no alive node before it goes from
	// Suspect to Down. Defaults: LAN 5 s, WAN 30 s, Local 500 ms.
	RegionDownGrace time.Duration
	// RejoinInterval is how often the mesh tries to rejoin the addresses of known nodes that
	// are dead. memberlist never probes dead nodes again, so this is what heals a partition
	// once it is over, and what brings a restarted node back. Defaults: LAN 5 s, WAN 30 s,
	// Local 300 ms.
	RejoinInterval time.Duration
	// Meta is what this node advertises. Meta.NodeID and Meta.Region are required.
	Meta Meta
	// Transport replaces memberlist's network transport (tests use FilterTransport). nil
	// means a memberlist.NetTransport on BindAddr:BindPort. The Mesh shuts it down on Close.
	Transport memberlist.Transport
	// Logger receives the mesh's log and, at debug level, memberlist's own. nil discards.
	Logger *slog.Logger
}

// DefaultLANConfig is a Config for nodes on one network: port 7946 on all interfaces,
// ProfileLAN. Keys and Meta must still be set.
func DefaultLANConfig() Config {
	return Config{
		BindAddr:        "0.0.0.0",
		BindPort:        7946,
		Profile:         ProfileLAN,
		RegionDownGrace: 5 * time.Second,
		RejoinInterval:  5 * time.Second,
	}
}

// DefaultWANConfig is a Config for nodes spread over regions: port 7946 on all interfaces,
// ProfileWAN. Keys and Meta must still be set.
func DefaultWANConfig() Config {
	c := DefaultLANConfig()
	c.Profile = ProfileWAN
	c.RegionDownGrace = 30 * time.Second
	c.RejoinInterval = 30 * time.Second
	return c
}

// LocalConfig is a Config for loopback meshes (tests, demo): 127.0.0.1, a free port,
// ProfileLocal, no encryption unless Keys are set. Meta must still be set.
func LocalConfig() Config {
	return Config{
		BindAddr:        "127.0.0.1",
		BindPort:        0,
		Profile:         ProfileLocal,
		RegionDownGrace: 500 * time.Millisecond,
		RejoinInterval:  300 * time.Millisecond,
	}
}

// Validate reports every problem with c on one line, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	switch c.Profile {
	case ProfileLAN, ProfileWAN, ProfileLocal:
	default:
		add("profile %q is not lan, wan or local", c.Profile)
	}
	if c.Meta.NodeID == "" {
		add("meta: node id is empty")
	}
	if !regionRE.MatchString(c.Meta.Region) {
		add("meta: region %q does not match %s", c.Meta.Region, regionRE)
	}
	if b, err := EncodeMeta(c.Meta); err != nil {
		add("meta: %s", strings.TrimPrefix(err.Error(), ErrBadMeta.Error()+": "))
	} else if len(b) > MetaMaxSize {
		add("meta: encoded %d bytes, limit %d", len(b), MetaMaxSize)
	}
	if len(c.Keys) == 0 && (c.Profile == ProfileLAN || c.Profile == ProfileWAN) {
		add("gossip encryption key required for profile %s", c.Profile)
	}
	for i, k := range c.Keys {
		if n := len(k); n != 16 && n != 24 && n != 32 {
			add("key %d is %d bytes, want 16, 24 or 32", i, n)
		}
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		add("bind port %d out of range", c.BindPort)
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		add("advertise port %d out of range", c.AdvertisePort)
	}
	if c.Transport == nil && net.ParseIP(c.BindAddr) == nil {
		add("bind address %q is not an IP address", c.BindAddr)
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		add("advertise address %q is not an IP address", c.AdvertiseAddr)
	}
	for _, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			add("seed %q is not host:port", s)
		}
	}
	if c.RegionDownGrace <= 0 {
		add("region down grace %v must be positive", c.RegionDownGrace)
	}
	if c.RejoinInterval <= 0 {
		add("rejoin interval %v must be positive", c.RejoinInterval)
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(bad, "; "))
}

// nodeName is the memberlist node name.
func (c Config) nodeName() string {
	if c.NodeName != "" {
		return c.NodeName
	}
	return c.Meta.NodeID
}

// memberlistConfig returns memberlist's timings for the profile; the Mesh fills in identity,
// transport, keyring, delegates and logger.
func (c Config) memberlistConfig() *memberlist.Config {
	switch c.Profile {
	case ProfileWAN:
		mc := memberlist.DefaultWANConfig()
		// A node restarted on a new address may take its name over this long after the old
		// incarnation was declared dead (memberlist's default never allows it).
		mc.DeadNodeReclaimTime = 30 * time.Second
		return mc
	case ProfileLocal:
		mc := memberlist.DefaultLANConfig()
		mc.ProbeInterval = 200 * time.Millisecond
		mc.ProbeTimeout = 100 * time.Millisecond
		mc.SuspicionMult = 2
		mc.GossipInterval = 100 * time.Millisecond
		mc.TCPTimeout = time.Second
		mc.PushPullInterval = 2 * time.Second
		mc.GossipToTheDeadTime = 5 * time.Second
		// A restarted node usually comes back on another port under the same name; let it
		// take the name over as soon as the old incarnation is dead.
		mc.DeadNodeReclaimTime = 100 * time.Millisecond
		return mc
	default:
		mc := memberlist.DefaultLANConfig()
		// See ProfileWAN.
		mc.DeadNodeReclaimTime = 5 * time.Second
		return mc
	}
}
