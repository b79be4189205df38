package client

import (
	"fmt"
	"regexp"
)

// Names of the streams, subjects and buckets. They are the contract DESIGN.md ("Fabric") fixes;
// other packages and tests rely on them.
const (
	BucketOwners    = "OWNERS"    // symbol -> ownership record
	BucketControl   = "CONTROL"   // controller lease, region cordons
	BucketPlans     = "PLANS"     // move / evacuation plans and their progress
	BucketAccounts  = "ACCOUNTS"  // API keys, listen keys
	BucketStatus    = "STATUS"    // status page: components, incidents, maintenances, webhook deliveries
	ObjectSnapshots = "SNAPSHOTS" // matcher snapshots
	StreamAudit     = "AUDIT"     // every ownership change
	SubjectAudit    = "audit.>"

	// RegionTagPrefix is the server tag prefix JetStream's unique_tag works on: one replica per region.
	RegionTagPrefix = "region:"
)

var symbolRE = regexp.MustCompile(`^[A-Z0-9]{2,20}$`)

// HeaderCmdSeq on every EVT_<S> message repeats the sequence of the command it answers.
const HeaderCmdSeq = "Geomesh-Cmd-Seq"

// ValidSymbol reports whether s is a well-formed symbol name (upper-case letters and digits, the
// characters stream names and subjects can carry).
func ValidSymbol(s string) bool { return symbolRE.MatchString(s) }

// CmdStream is the name of the command log stream of symbol; CmdSubject its subject.
func CmdStream(symbol string) string  { return "CMD_" + symbol }
func CmdSubject(symbol string) string { return "cmd." + symbol }

// EvtStream is the name of the event stream of symbol; EvtSubject its subject.
func EvtStream(symbol string) string  { return "EVT_" + symbol }
func EvtSubject(symbol string) string { return "evt." + symbol }

// UserSubject carries user data of account; not stored.
func UserSubject(account uint64) string { return fmt.Sprintf("user.%d", account) }

// TradeSubject and DepthSubject carry market data of symbol; not stored.
func TradeSubject(symbol string) string { return "md." + symbol + ".trade" }
func DepthSubject(symbol string) string { return "md." + symbol + ".depth" }
