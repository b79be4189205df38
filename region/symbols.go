package region

import (
	"fmt"
	"strings"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// Reasons the system itself writes into ownership records.
const (
	ReasonFailover  = "failover"
	ReasonSettled   = "failover settled"
	ReasonPlacement = "initial placement"
)

// ParseFailoverPolicy maps a policy name to its enum: "settle_then_trade" (also ""),
// "cancel_open_orders", "halt".
func ParseFailoverPolicy(s string) (proto.FailoverPolicy, error) {
	switch strings.ToLower(s) {
	case "", "settle_then_trade":
		return proto.FailoverPolicy_FAILOVER_POLICY_SETTLE_THEN_TRADE, nil
	case "cancel_open_orders":
		return proto.FailoverPolicy_FAILOVER_POLICY_CANCEL_OPEN_ORDERS, nil
	case "halt":
		return proto.FailoverPolicy_FAILOVER_POLICY_HALT, nil
	}
	return 0, fmt.Errorf("failover policy %q: want settle_then_trade, cancel_open_orders or halt", s)
}

// record builds the initial ownership record of a configured symbol (home not chosen yet).
func (s SymbolConfig) record() (*proto.OwnershipRecord, error) {
	if !client.ValidSymbol(s.Symbol) {
		return nil, fmt.Errorf("symbol %q: want 2-20 upper-case letters and digits", s.Symbol)
	}
	if len(s.Preferred) == 0 {
		return nil, fmt.Errorf("symbol %s: at least one preferred region is required", s.Symbol)
	}
	for _, r := range s.Preferred {
		if !regionRE.MatchString(r) {
			return nil, fmt.Errorf("symbol %s: preferred region %q is not a region name", s.Symbol, r)
		}
	}
	policy, err := ParseFailoverPolicy(s.FailoverPolicy)
	if err != nil {
		return nil, fmt.Errorf("symbol %s: %w", s.Symbol, err)
	}
	spec := &proto.SymbolSpec{
		Symbol: s.Symbol, BaseAsset: s.BaseAsset, QuoteAsset: s.QuoteAsset,
		TickSize: s.TickSize, StepSize: s.StepSize, MinPrice: s.MinPrice, MaxPrice: s.MaxPrice,
		MinQty: s.MinQty, MaxQty: s.MaxQty, MinNotional: s.MinNotional, MaxNotional: s.MaxNotional,
		MaxNumOrders: s.MaxNumOrders,
	}
	if _, err := specFromProto(spec); err != nil {
		return nil, fmt.Errorf("symbol %s: %w", s.Symbol, err)
	}
	return &proto.OwnershipRecord{
		SchemaVersion: proto.SchemaVersion, Symbol: s.Symbol, HomeRegion: s.Preferred[0],
		Phase: proto.Phase_PHASE_TRADING, PreferredRegions: s.Preferred, FailoverPolicy: policy,
		Spec: spec,
	}, nil
}

// DemoSymbol returns a ready-made symbol config with Binance-like filters, preferring the given
// regions in order (used by the demo and tests).
func DemoSymbol(symbol, base, quote string, preferred ...string) SymbolConfig {
	return SymbolConfig{
		Symbol: symbol, BaseAsset: base, QuoteAsset: quote,
		TickSize: "0.01", StepSize: "0.00001", MinPrice: "0.01", MaxPrice: "1000000",
		MinQty: "0.00001", MaxQty: "9000", MinNotional: "5", MaxNotional: "9000000",
		MaxNumOrders: 200, Preferred: preferred,
	}
}

// SpecOf returns the matcher spec of a symbol config.
func SpecOf(s SymbolConfig) (matcher.Spec, error) {
	rec, err := s.record()
	if err != nil {
		return matcher.Spec{}, err
	}
	return specFromProto(rec.Spec)
}
