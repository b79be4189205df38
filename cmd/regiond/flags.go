package main

import "github.com/spf13/pflag"

// nodeFlags are the flags of `regiond`: --config and one flag per config key. A flag overrides
// the file and the environment only when it is given on the command line.
type nodeFlags struct {
	fs     *pflag.FlagSet
	config string
	apply  []func(*fileConfig)
}

func newNodeFlags(fs *pflag.FlagSet) *nodeFlags {
	f := &nodeFlags{fs: fs}
	fs.StringVarP(&f.config, "config", "c", "", "YAML config file (see config.go for the schema)")

	f.str("node-id", "node id, unique in the mesh (node_id)", func(c *fileConfig, v string) { c.NodeID = v })
	f.str("region", "region name, e.g. us-east (region)", func(c *fileConfig, v string) { c.Region = v })
	f.str("data-dir", "JetStream store directory (data_dir)", func(c *fileConfig, v string) { c.DataDir = v })
	f.list("roles", "roles: gateway,matcher,controller (roles)", func(c *fileConfig, v []string) { c.Roles = v })
	f.str("profile", "lan, wan or local (profile)", func(c *fileConfig, v string) { c.Profile = v })

	f.str("gossip-addr", "gossip bind host:port (gossip.addr)", func(c *fileConfig, v string) { c.Gossip.Addr = v })
	f.str("gossip-advertise", "gossip host:port other nodes dial (gossip.advertise)",
		func(c *fileConfig, v string) { c.Gossip.Advertise = v })
	f.list("seeds", "gossip addresses of existing nodes, comma-separated (gossip.seeds)",
		func(c *fileConfig, v []string) { c.Gossip.Seeds = v })
	f.list("gossip-keys", "base64 gossip keys, primary first (gossip.keys; prefer $"+envGossipKeys+")",
		func(c *fileConfig, v []string) { c.Gossip.Keys = v; c.keysFrom = "--gossip-keys" })
	f.duration("region-down-grace", "how long a region must be dead to be declared down (gossip.region_down_grace)",
		func(c *fileConfig, v string) { c.Gossip.RegionDownGrace = v })

	f.str("nats-host", "NATS client listener host (nats.host)", func(c *fileConfig, v string) { c.NATS.Host = v })
	f.int("nats-port", "NATS client listener port, 0 = random (nats.port)", func(c *fileConfig, v *int) { c.NATS.Port = v })
	f.str("cluster-host", "route listener host (cluster.host)", func(c *fileConfig, v string) { c.Cluster.Host = v })
	f.int("cluster-port", "route listener port, 0 = random (cluster.port)", func(c *fileConfig, v *int) { c.Cluster.Port = v })
	f.str("cluster-advertise", "route host:port announced to peers (cluster.advertise)",
		func(c *fileConfig, v string) { c.Cluster.Advertise = v })
	f.str("cluster-secret", "route credential (cluster.secret; prefer $"+envClusterSecret+")",
		func(c *fileConfig, v string) { c.Cluster.Secret = v })
	f.str("cluster-name", "NATS cluster name (cluster.name)", func(c *fileConfig, v string) { c.Cluster.Name = v })

	f.int("replicas", "replicas of every stream and bucket (jetstream.replicas)",
		func(c *fileConfig, v *int) { c.JetStream.Replicas = v })
	f.duration("duplicate-window", "dedupe window of the command streams (jetstream.duplicate_window)",
		func(c *fileConfig, v string) { c.JetStream.DuplicateWindow = v })
	f.duration("sync-interval", "JetStream fsync interval, 0 = nats-server default (jetstream.sync_interval)",
		func(c *fileConfig, v string) { c.JetStream.SyncInterval = v })
	f.bool("sync-always", "fsync every JetStream write (jetstream.sync_always)",
		func(c *fileConfig, v *bool) { c.JetStream.SyncAlways = v })

	f.duration("settle-window", "how long a failed-over symbol stays CANCEL_ONLY (settle_window)",
		func(c *fileConfig, v string) { c.SettleWindow = v })
	f.duration("lease-ttl", "controller lease TTL (lease_ttl)", func(c *fileConfig, v string) { c.LeaseTTL = v })
	f.int("snapshot-every", "matcher snapshot after this many commands (snapshot_every)",
		func(c *fileConfig, v *int) { c.SnapshotEvery = v })
	f.duration("snapshot-interval", "matcher snapshot after this long (snapshot_interval)",
		func(c *fileConfig, v string) { c.SnapshotInterval = v })
	f.duration("append-timeout", "how long a matcher retries an EVT append (append_timeout)",
		func(c *fileConfig, v string) { c.AppendTimeout = v })
	f.duration("submit-timeout", "bound on appending one client command (submit_timeout)",
		func(c *fileConfig, v string) { c.SubmitTimeout = v })

	f.str("http-addr", "gateway listen host:port, Binance REST and WebSocket (http_addr)",
		func(c *fileConfig, v string) { c.HTTPAddr = v })
	f.str("admin-addr", "admin API listen host:port, for meshctl (admin_addr)",
		func(c *fileConfig, v string) { c.AdminAddr = v })
	f.str("admin-token", "admin API bearer token (admin_token; prefer $"+envAdminToken+")",
		func(c *fileConfig, v string) { c.AdminToken = v })

	f.str("log-level", "debug, info, warn or error (log.level)", func(c *fileConfig, v string) { c.Log.Level = v })
	f.str("log-format", "json or text; default json, text with the local profile (log.format)",
		func(c *fileConfig, v string) { c.Log.Format = v })
	f.bool("server-log", "route nats-server's own log into the log (log.server_log)",
		func(c *fileConfig, v *bool) { c.Log.ServerLog = v })
	return f
}

// override applies every flag given on the command line to c.
func (f *nodeFlags) override(c *fileConfig) {
	for _, apply := range f.apply {
		apply(c)
	}
}

func (f *nodeFlags) when(name string, apply func(*fileConfig)) {
	f.apply = append(f.apply, func(c *fileConfig) {
		if f.fs.Changed(name) {
			apply(c)
		}
	})
}

func (f *nodeFlags) str(name, usage string, set func(*fileConfig, string)) {
	v := f.fs.String(name, "", usage)
	f.when(name, func(c *fileConfig) { set(c, *v) })
}

func (f *nodeFlags) list(name, usage string, set func(*fileConfig, []string)) {
	v := f.fs.StringSlice(name, nil, usage)
	f.when(name, func(c *fileConfig) { set(c, *v) })
}

func (f *nodeFlags) int(name, usage string, set func(*fileConfig, *int)) {
	v := f.fs.Int(name, 0, usage)
	f.when(name, func(c *fileConfig) { set(c, v) })
}

func (f *nodeFlags) bool(name, usage string, set func(*fileConfig, *bool)) {
	v := f.fs.Bool(name, false, usage)
	f.when(name, func(c *fileConfig) { set(c, v) })
}

// duration flags are parsed by pflag (a bad value is refused with the flag's name) and stored
// in the file schema's string form, so both go through the same resolution.
func (f *nodeFlags) duration(name, usage string, set func(*fileConfig, string)) {
	v := f.fs.Duration(name, 0, usage)
	f.when(name, func(c *fileConfig) { set(c, v.String()) })
}
