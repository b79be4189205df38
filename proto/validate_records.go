package proto

import (
	"bytes"
	"crypto/sha256"
	"fmt"
)

// Validate checks the ownership record: version, symbol, home region, a set phase, a known
// failover policy, distinct valid preferred regions and a valid spec for the same symbol.
func (o *OwnershipRecord) Validate() error {
	if err := checkVersion(o.GetSchemaVersion()); err != nil {
		return err
	}
	if err := firstErr(
		checkSymbol("symbol", o.GetSymbol()),
		checkKey("home_region", o.GetHomeRegion()),
		checkSetEnum("phase", o.GetPhase()),
		checkEnum("failover_policy", o.GetFailoverPolicy()),
		checkNonNeg("settle_until_unix_nano", o.GetSettleUntilUnixNano()),
		checkNonNeg("updated_unix_nano", o.GetUpdatedUnixNano()),
	); err != nil {
		return err
	}
	seen := make(map[string]bool, len(o.GetPreferredRegions()))
	for i, r := range o.GetPreferredRegions() {
		field := fmt.Sprintf("preferred_regions[%d]", i)
		if err := checkKey(field, r); err != nil {
			return err
		}
		if seen[r] {
			return invalid(field, "duplicate region %q", r)
		}
		seen[r] = true
	}
	if o.GetSpec() == nil {
		return invalid("spec", "not set")
	}
	if o.GetSpec().GetSymbol() != o.GetSymbol() {
		return invalid("spec.symbol", "%q differs from symbol %q", o.GetSpec().GetSymbol(), o.GetSymbol())
	}
	return within("spec", o.GetSpec().Validate())
}

// Validate checks the symbol spec: symbol, assets, positive tick and step sizes, and optional
// limits that are decimals when set.
func (s *SymbolSpec) Validate() error {
	return firstErr(
		checkSymbol("symbol", s.GetSymbol()),
		checkKey("base_asset", s.GetBaseAsset()),
		checkKey("quote_asset", s.GetQuoteAsset()),
		checkDecimal("tick_size", s.GetTickSize(), true),
		checkDecimal("step_size", s.GetStepSize(), true),
		checkOptDecimal("min_price", s.GetMinPrice()),
		checkOptDecimal("max_price", s.GetMaxPrice()),
		checkOptDecimal("min_qty", s.GetMinQty()),
		checkOptDecimal("max_qty", s.GetMaxQty()),
		checkOptDecimal("min_notional", s.GetMinNotional()),
		checkOptDecimal("max_notional", s.GetMaxNotional()),
	)
}

// Validate checks the envelope: version, symbol, a matcher format version, and that
// state_sha256 is the SHA-256 of state.
func (s *SnapshotEnvelope) Validate() error {
	if err := checkVersion(s.GetSchemaVersion()); err != nil {
		return err
	}
	if err := checkSymbol("symbol", s.GetSymbol()); err != nil {
		return err
	}
	if s.GetMatcherFormatVersion() == 0 {
		return invalid("matcher_format_version", "not set")
	}
	sum := sha256.Sum256(s.GetState())
	if !bytes.Equal(sum[:], s.GetStateSha256()) {
		return invalid("state_sha256", "does not match the SHA-256 of state")
	}
	return nil
}

// Validate checks node metadata: version, node id, region, roles and URLs.
func (n *NodeMeta) Validate() error {
	if err := checkVersion(n.GetSchemaVersion()); err != nil {
		return err
	}
	if err := firstErr(
		checkName("node_id", n.GetNodeId()),
		checkKey("region", n.GetRegion()),
		checkURL("nats_client_url", n.GetNatsClientUrl()),
		checkURL("nats_route_url", n.GetNatsRouteUrl()),
		checkURL("http_url", n.GetHttpUrl()),
		checkURL("admin_url", n.GetAdminUrl()),
		checkNonNeg("started_unix_nano", n.GetStartedUnixNano()),
	); err != nil {
		return err
	}
	for i, r := range n.GetRoles() {
		if err := checkKey(fmt.Sprintf("roles[%d]", i), r); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the plan: version, id, kind, state, a region for EVACUATE and RESTORE, a sane
// rate, and every step.
func (p *Plan) Validate() error {
	if err := checkVersion(p.GetSchemaVersion()); err != nil {
		return err
	}
	if err := firstErr(
		checkKey("id", p.GetId()),
		checkSetEnum("kind", p.GetKind()),
		checkSetEnum("state", p.GetState()),
		checkNonNeg("created_unix_nano", p.GetCreatedUnixNano()),
		checkNonNeg("updated_unix_nano", p.GetUpdatedUnixNano()),
		checkOptKey("region", p.GetRegion()),
		checkRate("rate_per_second", p.GetRatePerSecond()),
	); err != nil {
		return err
	}
	switch p.GetKind() {
	case PlanKind_PLAN_KIND_EVACUATE, PlanKind_PLAN_KIND_RESTORE:
		if p.GetRegion() == "" {
			return invalid("region", "required by %s", p.GetKind())
		}
	}
	for i, s := range p.GetSteps() {
		if err := within(fmt.Sprintf("steps[%d]", i), s.check()); err != nil {
			return err
		}
	}
	return nil
}

func (s *Step) check() error {
	return firstErr(
		checkSymbol("symbol", s.GetSymbol()),
		checkOptKey("from_region", s.GetFromRegion()),
		checkOptKey("to_region", s.GetToRegion()),
		checkSetEnum("state", s.GetState()),
		checkNonNeg("started_unix_nano", s.GetStartedUnixNano()),
		checkNonNeg("finished_unix_nano", s.GetFinishedUnixNano()),
	)
}

// Validate checks the audit entry: version, a set action, a symbol or a region, and known phases.
func (a *AuditEntry) Validate() error {
	if err := checkVersion(a.GetSchemaVersion()); err != nil {
		return err
	}
	if a.GetSymbol() == "" && a.GetRegion() == "" {
		return invalid("symbol", "neither symbol nor region set")
	}
	var symbolErr error
	if a.GetSymbol() != "" {
		symbolErr = checkSymbol("symbol", a.GetSymbol())
	}
	return firstErr(
		symbolErr,
		checkNonNeg("time_unix_nano", a.GetTimeUnixNano()),
		checkSetEnum("action", a.GetAction()),
		checkOptKey("old_home", a.GetOldHome()),
		checkOptKey("new_home", a.GetNewHome()),
		checkEnum("old_phase", a.GetOldPhase()),
		checkEnum("new_phase", a.GetNewPhase()),
		checkOptKey("plan_id", a.GetPlanId()),
		checkOptKey("region", a.GetRegion()),
	)
}

// Validate checks the API key record: version, key, a secret, an account and distinct permissions.
func (k *ApiKey) Validate() error {
	if err := checkVersion(k.GetSchemaVersion()); err != nil {
		return err
	}
	if err := firstErr(
		checkKey("api_key", k.GetApiKey()),
		checkAccount("account", k.GetAccount()),
		checkNonNeg("created_unix_nano", k.GetCreatedUnixNano()),
	); err != nil {
		return err
	}
	if len(k.GetSecret()) == 0 {
		return invalid("secret", "empty")
	}
	seen := make(map[Permission]bool, len(k.GetPermissions()))
	for i, p := range k.GetPermissions() {
		field := fmt.Sprintf("permissions[%d]", i)
		if err := checkSetEnum(field, p); err != nil {
			return err
		}
		if seen[p] {
			return invalid(field, "duplicate %s", p)
		}
		seen[p] = true
	}
	return nil
}

// Validate checks the listen key record: version, key and account.
func (k *ListenKey) Validate() error {
	if err := checkVersion(k.GetSchemaVersion()); err != nil {
		return err
	}
	return firstErr(
		checkKey("listen_key", k.GetListenKey()),
		checkAccount("account", k.GetAccount()),
		checkNonNeg("expires_unix_nano", k.GetExpiresUnixNano()),
	)
}

// Validate checks the region record: version and region.
func (r *RegionRecord) Validate() error {
	if err := checkVersion(r.GetSchemaVersion()); err != nil {
		return err
	}
	return firstErr(
		checkKey("region", r.GetRegion()),
		checkNonNeg("updated_unix_nano", r.GetUpdatedUnixNano()),
	)
}

// Validate checks the lease: version, holder and region.
func (l *Lease) Validate() error {
	if err := checkVersion(l.GetSchemaVersion()); err != nil {
		return err
	}
	return firstErr(
		checkName("holder", l.GetHolder()),
		checkKey("region", l.GetRegion()),
		checkNonNeg("expires_unix_nano", l.GetExpiresUnixNano()),
	)
}
