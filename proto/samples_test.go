package proto

import (
	"crypto/sha256"
	"maps"
	"slices"
	"testing"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Samples: one fully populated, valid message per record kind (one per oneof member for
// Command). TestSamplesPopulated keeps them complete when fields are added.

func sampleNewOrder() *NewOrder {
	return &NewOrder{
		Account:       42,
		ClientOrderId: "web_Abc-1.2:3/4",
		Side:          Side_SIDE_BUY,
		Type:          OrderType_ORDER_TYPE_LIMIT,
		TimeInForce:   TimeInForce_TIME_IN_FORCE_GTC,
		Price:         6_500_000,
		Qty:           1_000,
		QuoteQty:      7,
		StpMode:       StpMode_STP_MODE_EXPIRE_MAKER,
		ClientTimeMs:  1_700_000_000_000,
		RecvWindowMs:  5_000,
	}
}

func commandWith(body isCommand_Body) *Command {
	return &Command{
		SchemaVersion: SchemaVersion,
		Symbol:        "BTCUSDT",
		RequestId:     "42:web_Abc-1.2:3/4",
		ReplyTo:       "_INBOX.abc.def",
		IngressRegion: "eu-west",
		Body:          body,
	}
}

func sampleCommands() map[string]*Command {
	return map[string]*Command{
		"new_order": commandWith(&Command_NewOrder{NewOrder: sampleNewOrder()}),
		"cancel": commandWith(&Command_Cancel{Cancel: &Cancel{
			Account: 42, OrderId: 7, OrigClientOrderId: "web_Abc", ClientOrderId: "cxl-1",
		}}),
		"cancel_all": commandWith(&Command_CancelAll{CancelAll: &CancelAll{Account: 42}}),
		"cancel_replace": commandWith(&Command_CancelReplace{CancelReplace: &CancelReplace{
			Account:             42,
			Mode:                CancelReplaceMode_CANCEL_REPLACE_MODE_ALLOW_FAILURE,
			OrderId:             7,
			OrigClientOrderId:   "web_Abc",
			CancelClientOrderId: "cxl-2",
			NewOrder:            sampleNewOrder(),
		}}),
		"amend": commandWith(&Command_Amend{Amend: &Amend{
			Account: 42, OrderId: 7, OrigClientOrderId: "web_Abc", NewQty: 500,
		}}),
		"set_phase": commandWith(&Command_SetPhase{SetPhase: &SetPhase{
			Phase: Phase_PHASE_CANCEL_ONLY, Reason: "settle after failover",
		}}),
	}
}

func sampleEvents() []*Event {
	return []*Event{
		{Kind: &Event_Accepted{Accepted: &Accepted{
			OrderId: 9, Account: 42, ClientOrderId: "web_Abc", Side: Side_SIDE_SELL,
			Type: OrderType_ORDER_TYPE_LIMIT, TimeInForce: TimeInForce_TIME_IN_FORCE_IOC,
			Price: 6_500_000, Qty: 1_000, QuoteQty: 3, StpMode: StpMode_STP_MODE_NONE,
			TimeUnixNano: 1_700_000_000_000_000_000,
		}}},
		{Kind: &Event_Rejected{Rejected: &Rejected{
			Code: -2010, Msg: "Account has insufficient balance.", Account: 42, ClientOrderId: "web_Abc", OrderId: 4,
		}}},
		{Kind: &Event_Trade{Trade: &Trade{
			TradeId: 3, Price: 6_500_000, Qty: 10, QuoteQty: 65_000_000,
			MakerOrderId: 5, MakerAccount: 7, MakerClientOrderId: "mk-1",
			TakerOrderId: 9, TakerAccount: 42, TakerClientOrderId: "web_Abc",
			TakerSide:        Side_SIDE_SELL,
			MakerExecutedQty: 20, MakerExecutedQuoteQty: 130_000_000,
			TakerExecutedQty: 10, TakerExecutedQuoteQty: 65_000_000,
			MakerOrderQty: 30,
		}}},
		{Kind: &Event_Canceled{Canceled: &Canceled{
			OrderId: 5, Account: 7, ClientOrderId: "mk-1", Reason: CancelReason_CANCEL_REASON_USER,
			CancelClientOrderId: "cxl-1", ExecutedQty: 20, ExecutedQuoteQty: 130_000_000,
			Side: Side_SIDE_BUY, Type: OrderType_ORDER_TYPE_LIMIT, Price: 6_500_000, Qty: 30, QuoteQty: 1,
		}}},
		{Kind: &Event_Expired{Expired: &Expired{
			OrderId: 9, Account: 42, ClientOrderId: "web_Abc", Reason: ExpireReason_EXPIRE_REASON_IOC,
			ExecutedQty: 10, ExecutedQuoteQty: 65_000_000,
			Side: Side_SIDE_SELL, Type: OrderType_ORDER_TYPE_MARKET, Price: 1, Qty: 1_000, QuoteQty: 2,
		}}},
		{Kind: &Event_Replaced{Replaced: &Replaced{
			CancelResult: ReplaceResult_REPLACE_RESULT_FAILURE, NewOrderResult: ReplaceResult_REPLACE_RESULT_SUCCESS,
			CanceledOrderId: 5, NewOrderId: 10, CancelCode: -2011, CancelMsg: "Unknown order sent.",
			NewOrderCode: -1013, NewOrderMsg: "Filter failure: LOT_SIZE", Account: 7,
		}}},
		{Kind: &Event_Amended{Amended: &Amended{
			OrderId: 5, Account: 7, ClientOrderId: "mk-1", NewQty: 15,
			Side: Side_SIDE_BUY, Price: 6_500_000, ExecutedQty: 10,
		}}},
		{Kind: &Event_DepthUpdate{DepthUpdate: &DepthUpdate{UpdateId: 11, Side: Side_SIDE_BUY, Price: 6_499_999, Qty: 30}}},
		{Kind: &Event_PhaseChanged{PhaseChanged: &PhaseChanged{
			OldPhase: Phase_PHASE_TRADING, NewPhase: Phase_PHASE_HALT, Reason: "operator halt",
		}}},
	}
}

func sampleEventBatch() *EventBatch {
	return &EventBatch{
		SchemaVersion:   SchemaVersion,
		Symbol:          "BTCUSDT",
		CmdSeq:          1234,
		CmdTimeUnixNano: 1_700_000_000_000_000_000,
		Epoch:           3,
		RequestId:       "42:web_Abc",
		Events:          sampleEvents(),
	}
}

func sampleCommandResult() *CommandResult {
	return &CommandResult{
		SchemaVersion:   SchemaVersion,
		Symbol:          "BTCUSDT",
		RequestId:       "42:web_Abc",
		CmdSeq:          1234,
		CmdTimeUnixNano: 1_700_000_000_000_000_000,
		Status:          CommandStatus_COMMAND_STATUS_REJECTED,
		Events:          sampleEvents()[1:2],
		RejectCode:      -2010,
		RejectMsg:       "Account has insufficient balance.",
	}
}

func sampleSymbolSpec() *SymbolSpec {
	return &SymbolSpec{
		Symbol: "BTCUSDT", BaseAsset: "BTC", QuoteAsset: "USDT",
		TickSize: "0.01", StepSize: "0.00001",
		MinPrice: "0.01", MaxPrice: "1000000", MinQty: "0.00001", MaxQty: "9000",
		MinNotional: "5", MaxNotional: "9000000", MaxNumOrders: 200,
	}
}

func sampleOwnershipRecord() *OwnershipRecord {
	return &OwnershipRecord{
		SchemaVersion:       SchemaVersion,
		Symbol:              "BTCUSDT",
		HomeRegion:          "us-east",
		Epoch:               3,
		Phase:               Phase_PHASE_TRADING,
		PreferredRegions:    []string{"us-east", "eu-west", "ap-south"},
		FailoverPolicy:      FailoverPolicy_FAILOVER_POLICY_CANCEL_OPEN_ORDERS,
		SettleUntilUnixNano: 1_700_000_030_000_000_000,
		Reason:              "initial placement",
		Actor:               "meshctl:alice",
		UpdatedUnixNano:     1_700_000_000_000_000_000,
		Spec:                sampleSymbolSpec(),
	}
}

func sampleSnapshotEnvelope() *SnapshotEnvelope {
	state := []byte("matcher state bytes")
	sum := sha256.Sum256(state)
	return &SnapshotEnvelope{
		SchemaVersion:        SchemaVersion,
		Symbol:               "BTCUSDT",
		Epoch:                3,
		LastCmdSeq:           1234,
		LastEvtSeq:           1234,
		MatcherFormatVersion: 1,
		State:                state,
		StateSha256:          sum[:],
	}
}

func sampleNodeMeta() *NodeMeta {
	return &NodeMeta{
		SchemaVersion:   SchemaVersion,
		NodeId:          "us-east-1",
		Region:          "us-east",
		Roles:           []string{"gateway", "matcher", "controller"},
		NatsClientUrl:   "nats://10.0.0.1:4222",
		NatsRouteUrl:    "nats://10.0.0.1:6222",
		HttpUrl:         "http://10.0.0.1:8080",
		AdminUrl:        "http://10.0.0.1:9090",
		Version:         "v0.1.0",
		StartedUnixNano: 1_700_000_000_000_000_000,
	}
}

func samplePlan() *Plan {
	return &Plan{
		SchemaVersion:   SchemaVersion,
		Id:              "evacuate-us-east-1",
		Kind:            PlanKind_PLAN_KIND_EVACUATE,
		State:           PlanState_PLAN_STATE_RUNNING,
		RequestedBy:     "meshctl:alice",
		Reason:          "maintenance",
		CreatedUnixNano: 1_700_000_000_000_000_000,
		UpdatedUnixNano: 1_700_000_001_000_000_000,
		DryRun:          true,
		Region:          "us-east",
		Concurrency:     2,
		RatePerSecond:   0.5,
		Steps: []*Step{{
			Symbol: "BTCUSDT", FromRegion: "us-east", ToRegion: "eu-west",
			State: StepState_STEP_STATE_FAILED, Error: "snapshot timed out",
			StartedUnixNano: 1_700_000_000_500_000_000, FinishedUnixNano: 1_700_000_000_900_000_000,
			EpochBefore: 3, EpochAfter: 4,
		}},
		Error: "1 step failed",
	}
}

func sampleAuditEntry() *AuditEntry {
	return &AuditEntry{
		SchemaVersion: SchemaVersion,
		TimeUnixNano:  1_700_000_000_000_000_000,
		Actor:         "controller:us-east-1",
		Reason:        "region us-east down",
		Symbol:        "BTCUSDT",
		Action:        AuditAction_AUDIT_ACTION_FAILOVER,
		OldHome:       "us-east",
		NewHome:       "eu-west",
		OldEpoch:      3,
		NewEpoch:      4,
		OldPhase:      Phase_PHASE_TRADING,
		NewPhase:      Phase_PHASE_CANCEL_ONLY,
		PlanId:        "evacuate-us-east-1",
		Region:        "us-east",
	}
}

func sampleApiKey() *ApiKey {
	return &ApiKey{
		SchemaVersion:   SchemaVersion,
		ApiKey:          "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
		Secret:          []byte{1, 2, 3, 4},
		Account:         42,
		Permissions:     []Permission{Permission_PERMISSION_READ, Permission_PERMISSION_TRADE},
		CreatedUnixNano: 1_700_000_000_000_000_000,
	}
}

func sampleListenKey() *ListenKey {
	return &ListenKey{
		SchemaVersion:   SchemaVersion,
		ListenKey:       "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1",
		Account:         42,
		ExpiresUnixNano: 1_700_003_600_000_000_000,
	}
}

func sampleRegionRecord() *RegionRecord {
	return &RegionRecord{
		SchemaVersion:   SchemaVersion,
		Region:          "us-east",
		Cordoned:        true,
		Reason:          "maintenance",
		Actor:           "meshctl:alice",
		UpdatedUnixNano: 1_700_000_000_000_000_000,
	}
}

func sampleLease() *Lease {
	return &Lease{
		SchemaVersion:   SchemaVersion,
		Holder:          "us-east-1",
		Region:          "us-east",
		ExpiresUnixNano: 1_700_000_010_000_000_000,
		Term:            5,
	}
}

// decoder ties a record kind to its Decode helper and samples.
type decoder struct {
	name    string
	samples func() []versioned
	decode  func([]byte) (versioned, error)
}

// wrap adapts a typed Decode helper; the result is only used when err is nil.
func wrap[M versioned](f func([]byte) (M, error)) func([]byte) (versioned, error) {
	return func(b []byte) (versioned, error) {
		m, err := f(b)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
}

func one[M versioned](f func() M) func() []versioned {
	return func() []versioned { return []versioned{f()} }
}

// decoders lists every Decode helper.
func decoders() []decoder {
	return []decoder{
		{"Command", func() []versioned {
			var out []versioned
			for _, name := range slices.Sorted(maps.Keys(sampleCommands())) {
				out = append(out, sampleCommands()[name])
			}
			return out
		}, wrap(DecodeCommand)},
		{"EventBatch", one(sampleEventBatch), wrap(DecodeEventBatch)},
		{"CommandResult", one(sampleCommandResult), wrap(DecodeCommandResult)},
		{"OwnershipRecord", one(sampleOwnershipRecord), wrap(DecodeOwnershipRecord)},
		{"SnapshotEnvelope", one(sampleSnapshotEnvelope), wrap(DecodeSnapshotEnvelope)},
		{"NodeMeta", one(sampleNodeMeta), wrap(DecodeNodeMeta)},
		{"Plan", one(samplePlan), wrap(DecodePlan)},
		{"AuditEntry", one(sampleAuditEntry), wrap(DecodeAuditEntry)},
		{"ApiKey", one(sampleApiKey), wrap(DecodeApiKey)},
		{"ListenKey", one(sampleListenKey), wrap(DecodeListenKey)},
		{"RegionRecord", one(sampleRegionRecord), wrap(DecodeRegionRecord)},
		{"Lease", one(sampleLease), wrap(DecodeLease)},
	}
}

func mustMarshal(t testing.TB, m gproto.Message) []byte {
	t.Helper()
	b, err := gproto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	return b
}

// unpopulated returns the paths of fields of m left at their zero value, ignoring oneof members
// other than the one set.
func unpopulated(m protoreflect.Message, path string) []string {
	var missing []string
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := path + string(fd.Name())
		if fd.ContainingOneof() != nil && !m.Has(fd) {
			continue
		}
		if !m.Has(fd) {
			missing = append(missing, name)
			continue
		}
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				missing = append(missing, unpopulated(l.Get(j).Message(), name+"[].")...)
			}
		case fd.Message() != nil && !fd.IsMap():
			missing = append(missing, unpopulated(m.Get(fd).Message(), name+".")...)
		}
	}
	return missing
}
