package region

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
)

// --- enums ---------------------------------------------------------------------------------

type protoEnum interface {
	~int32
	String() string
	Descriptor() protoreflect.EnumDescriptor
}

// matcherValues returns every value of a matcher enum type that has a name.
func matcherValues[M interface {
	~uint8
	String() string
}]() []M {
	var vs []M
	for v := range 256 {
		if m := M(v); m.String() != "UNKNOWN" {
			vs = append(vs, m)
		}
	}
	return vs
}

// enumCase checks one mapping exhaustively: every matcher value in domain maps to a proto value
// named like it and back to itself; every proto value maps back to a matcher value that maps to
// it, except aliases (read as the given matcher value) and noMatcher values (error).
func enumCase[M interface {
	~uint8
	String() string
}, P protoEnum](t *testing.T, e enumMap[M, P], domain []M, aliases map[P]M, noMatcher []P) {
	t.Helper()
	for _, m := range domain {
		p := e.toProto(m)
		if p == 0 {
			t.Errorf("matcher %s maps to UNSPECIFIED", m)
			continue
		}
		if !strings.HasSuffix(p.String(), "_"+m.String()) {
			t.Errorf("matcher %s maps to %s", m, p)
		}
		back, err := e.fromProto(p)
		if err != nil || back != m {
			t.Errorf("matcher %s -> %s -> %s, %v", m, p, back, err)
		}
	}
	values := P(0).Descriptor().Values()
	for i := range values.Len() {
		p := P(values.Get(i).Number())
		m, err := e.fromProto(p)
		switch want, alias := aliases[p]; {
		case alias:
			if err != nil || m != want {
				t.Errorf("alias %s -> %s, %v; want %s", p, m, err, want)
			}
		case p == 0 || slices.Contains(noMatcher, p):
			if !errors.Is(err, errUnconvertible) {
				t.Errorf("%s -> %s, %v; want errUnconvertible", p, m, err)
			}
		case err != nil:
			t.Errorf("%s has no matcher value: %v", p, err)
		case e.toProto(m) != p:
			t.Errorf("%s -> %s -> %s", p, m, e.toProto(m))
		}
	}
	if m, err := e.fromProto(P(99)); !errors.Is(err, errUnconvertible) {
		t.Errorf("unknown proto value 99 -> %s, %v", m, err)
	}
	if m, err := e.optFromProto(0); err != nil || m != 0 {
		t.Errorf("optFromProto(UNSPECIFIED) = %s, %v; want 0", m, err)
	}
	if p := e.toProto(M(200)); p != 0 {
		t.Errorf("unknown matcher value 200 -> %s, want UNSPECIFIED", p)
	}
}

func TestConvertEnums(t *testing.T) {
	reasons := matcherValues[matcher.Reason]()
	var canceled, expired []matcher.Reason
	for _, r := range reasons {
		c, x := cancelReasons.toProto(r) != 0, expireReasons.toProto(r) != 0
		switch {
		case c && !x:
			canceled = append(canceled, r)
		case x && !c:
			expired = append(expired, r)
		default:
			t.Errorf("reason %s is in %d of the cancel and expire mappings, want exactly 1", r, btoi(c)+btoi(x))
		}
	}
	t.Run("Side", func(t *testing.T) { enumCase(t, sides, matcherValues[matcher.Side](), nil, nil) })
	t.Run("OrderType", func(t *testing.T) { enumCase(t, orderTypes, matcherValues[matcher.OrderType](), nil, nil) })
	t.Run("TimeInForce", func(t *testing.T) { enumCase(t, timesInForce, matcherValues[matcher.TimeInForce](), nil, nil) })
	t.Run("STPMode", func(t *testing.T) {
		enumCase(t, stpModes, matcherValues[matcher.STPMode](),
			map[proto.StpMode]matcher.STPMode{proto.StpMode_STP_MODE_UNSPECIFIED: matcher.STPNone}, nil)
	})
	t.Run("Phase", func(t *testing.T) { enumCase(t, phases, matcherValues[matcher.Phase](), nil, nil) })
	t.Run("ReplaceMode", func(t *testing.T) { enumCase(t, replaceModes, matcherValues[matcher.ReplaceMode](), nil, nil) })
	t.Run("CancelReason", func(t *testing.T) {
		enumCase(t, cancelReasons, canceled, nil, []proto.CancelReason{proto.CancelReason_CANCEL_REASON_PHASE})
	})
	t.Run("ExpireReason", func(t *testing.T) { enumCase(t, expireReasons, expired, nil, nil) })
	t.Run("client.Result", func(t *testing.T) { enumCase(t, replaceResults, matcherValues[matcher.Result](), nil, nil) })
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// --- fields proto does not carry ----------------------------------------------------------

// uncarried lists the matcher event fields proto has no field for; normalize zeroes them so that
// round trips compare everything else exactly. TestConvertProtoGaps fails when proto gains one.
var uncarried = []struct {
	kind  matcher.EventKind
	field string // matcher.Event field
	msg   gproto.Message
	proto string // the proto field that would carry it
}{
	{matcher.EvCanceled, "TimeInForce", &proto.Canceled{}, "time_in_force"},
	{matcher.EvExpired, "TimeInForce", &proto.Expired{}, "time_in_force"},
	{matcher.EvAmended, "ExecutedQuote", &proto.Amended{}, "executed_quote_qty"},
}

func normalize(evs []matcher.Event) []matcher.Event {
	out := slices.Clone(evs)
	for i := range out {
		for _, u := range uncarried {
			if out[i].Kind == u.kind {
				reflect.ValueOf(&out[i]).Elem().FieldByName(u.field).SetZero()
			}
		}
	}
	return out
}

func TestConvertProtoGaps(t *testing.T) {
	for _, u := range uncarried {
		if !reflect.ValueOf(matcher.Event{}).FieldByName(u.field).IsValid() {
			t.Errorf("matcher.Event has no field %s any more: drop it from uncarried", u.field)
		}
		d := u.msg.ProtoReflect().Descriptor()
		if d.Fields().ByName(protoreflect.Name(u.proto)) != nil {
			t.Errorf("proto %s now has %s: map %s.%s in convert.go and drop it from uncarried", d.Name(), u.proto, u.kind, u.field)
		}
	}
}

// --- round trips through a running matcher -------------------------------------------------

const (
	testSymbol = "TESTUSDT"
	baseTimeNs = int64(1_700_000_000_000_000_000)
)

func testSpec() matcher.Spec {
	s := matcher.DefaultSpec()
	s.MaxPrice, s.MaxQty = decimal.NewFromInt(1000), decimal.NewFromInt(1000)
	s.MinNotional = decimal.NewFromInt(10)
	s.MaxNumOrders = 40
	return s
}

// harness applies commands to a book through the proto conversions and checks every step.
type harness struct {
	t       *testing.T
	book    *matcher.Book
	seq     uint64
	covered map[string]bool
	last    *proto.EventBatch // decoded batch of the last command
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	b, err := matcher.NewBook(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, book: b, covered: map[string]bool{}}
}

func (h *harness) now() int64 { return baseTimeNs + int64(h.seq+1)*1_000_000 }

// apply runs c (Seq and Time are assigned here) and returns the matcher's events (a copy).
func (h *harness) apply(c matcher.Command) []matcher.Event {
	t := h.t
	t.Helper()
	h.seq++
	c.Seq, c.Time = h.seq, baseTimeNs+int64(h.seq)*1_000_000
	reqID := fmt.Sprintf("req-%d", h.seq)

	data, err := gproto.Marshal(commandFromMatcher(testSymbol, reqID, c))
	if err != nil {
		t.Fatalf("seq %d: marshal command: %v", c.Seq, err)
	}
	pc, err := proto.DecodeCommand(data)
	if err != nil {
		t.Fatalf("seq %d: decode %+v: %v", c.Seq, c, err)
	}
	got, err := commandToMatcher(pc, c.Seq, c.Time)
	if err != nil {
		t.Fatalf("seq %d: commandToMatcher: %v", c.Seq, err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("seq %d: command round trip:\n got %+v\nwant %+v", c.Seq, got, c)
	}

	evs := slices.Clone(h.book.Apply(&got))
	data, err = gproto.Marshal(eventBatch(testSymbol, c.Seq, c.Time, 7, reqID, evs))
	if err != nil {
		t.Fatalf("seq %d: marshal batch: %v", c.Seq, err)
	}
	b, err := proto.DecodeEventBatch(data)
	if err != nil {
		t.Fatalf("seq %d: command %+v: events %+v fail proto validation: %v", c.Seq, c, evs, err)
	}
	if b.GetCmdSeq() != c.Seq || b.GetCmdTimeUnixNano() != c.Time || b.GetEpoch() != 7 || b.GetRequestId() != reqID || b.GetSymbol() != testSymbol {
		t.Fatalf("seq %d: batch header %v", c.Seq, b)
	}
	back, err := eventsFromBatch(b)
	if err != nil {
		t.Fatalf("seq %d: eventsFromBatch: %v", c.Seq, err)
	}
	if want := normalize(evs); !reflect.DeepEqual(back, want) {
		t.Fatalf("seq %d: event round trip:\n got %+v\nwant %+v", c.Seq, back, want)
	}
	for i, pe := range b.GetEvents() {
		if a := pe.GetAccepted(); a != nil && a.GetTimeUnixNano() != c.Time {
			t.Errorf("seq %d: accepted time %d, want command time %d", c.Seq, a.GetTimeUnixNano(), c.Time)
		}
		if r := pe.GetReplaced(); r != nil {
			cancelFailed := r.GetCancelResult() == proto.ReplaceResult_REPLACE_RESULT_FAILURE
			newFailed := r.GetNewOrderResult() == proto.ReplaceResult_REPLACE_RESULT_FAILURE
			if (r.GetCancelMsg() != "") != cancelFailed || (r.GetNewOrderMsg() != "") != newFailed {
				t.Errorf("seq %d: replaced %v: a failed half must have a message, a successful one none", c.Seq, r)
			}
		}
		h.cover(&evs[i])
	}
	h.last = b
	return evs
}

func (h *harness) cover(e *matcher.Event) {
	h.covered["kind:"+e.Kind.String()] = true
	switch e.Kind {
	case matcher.EvAccepted:
		h.covered["side:"+e.Side.String()] = true
		h.covered["type:"+e.Type.String()] = true
		h.covered["stp:"+e.STP.String()] = true
		if e.Type == matcher.Limit {
			h.covered["tif:"+e.TimeInForce.String()] = true
		}
	case matcher.EvCanceled, matcher.EvExpired:
		h.covered["reason:"+e.Reason.String()] = true
	case matcher.EvReplaced:
		h.covered["cancel:"+e.CancelResult.String()] = true
		h.covered["new:"+e.NewOrderResult.String()] = true
	case matcher.EvPhaseChanged:
		h.covered["phase:"+e.Phase.String()] = true
	}
}

// checkCoverage fails unless every event kind and every enum outcome was produced.
func (h *harness) checkCoverage() {
	h.t.Helper()
	var want []string
	add := func(prefix string, names []string) {
		for _, n := range names {
			want = append(want, prefix+n)
		}
	}
	add("kind:", names(matcherValues[matcher.EventKind]()))
	add("side:", names(matcherValues[matcher.Side]()))
	add("type:", names(matcherValues[matcher.OrderType]()))
	add("tif:", names(matcherValues[matcher.TimeInForce]()))
	add("stp:", names(matcherValues[matcher.STPMode]()))
	add("reason:", names(matcherValues[matcher.Reason]()))
	add("phase:", names(matcherValues[matcher.Phase]()))
	add("cancel:", []string{"SUCCESS", "FAILURE"}) // a cancel is always attempted
	add("new:", names(matcherValues[matcher.Result]()))
	for _, w := range want {
		if !h.covered[w] {
			h.t.Errorf("not covered: %s", w)
		}
	}
}

func names[M fmt.Stringer](vs []M) []string {
	var s []string
	for _, v := range vs {
		s = append(s, v.String())
	}
	return s
}

// command builders
func newOrd(acct uint64, cid string, side matcher.Side, typ matcher.OrderType, tif matcher.TimeInForce, price, qty int64) matcher.Command {
	return matcher.Command{Kind: matcher.CmdNew, Account: acct, Order: matcher.NewOrder{
		ClientOrderID: cid, Side: side, Type: typ, TimeInForce: tif, Price: price, Qty: qty,
	}}
}

func withSTP(c matcher.Command, m matcher.STPMode) matcher.Command { c.Order.STP = m; return c }

func cancelCmd(acct, id uint64, cid, own string) matcher.Command {
	return matcher.Command{Kind: matcher.CmdCancel, Account: acct, OrderID: id, OrigClientOrderID: cid, ClientOrderID: own}
}

func replaceCmd(acct uint64, mode matcher.ReplaceMode, cid, own string, o matcher.Command) matcher.Command {
	return matcher.Command{Kind: matcher.CmdCancelReplace, Account: acct, Mode: mode, OrigClientOrderID: cid, ClientOrderID: own, Order: o.Order}
}

func amendCmd(acct uint64, cid string, qty int64) matcher.Command {
	return matcher.Command{Kind: matcher.CmdAmend, Account: acct, OrigClientOrderID: cid, NewQty: qty}
}

func phaseCmd(p matcher.Phase, reason string) matcher.Command {
	return matcher.Command{Kind: matcher.CmdSetPhase, Phase: p, Reason: reason}
}

func kinds(evs []matcher.Event) string {
	var s []string
	for _, e := range evs {
		k := e.Kind.String()
		switch e.Kind {
		case matcher.EvCanceled, matcher.EvExpired:
			k += "/" + e.Reason.String()
		case matcher.EvReplaced:
			k += "/" + e.CancelResult.String() + "/" + e.NewOrderResult.String()
		}
		s = append(s, k)
	}
	return strings.Join(s, " ")
}

func TestConvertRoundTripScripted(t *testing.T) {
	h := newHarness(t)
	const A, B = 1, 2
	buy, sell := matcher.Buy, matcher.Sell
	lim, mkt, mk := matcher.Limit, matcher.Market, matcher.LimitMaker
	gtc, ioc, fok := matcher.GTC, matcher.IOC, matcher.FOK
	marketByQuote := newOrd(A, "", buy, mkt, 0, 0, 0)
	marketByQuote.Order.QuoteQty = 1000
	late := newOrd(B, "late", buy, lim, gtc, 100, 1)
	late.Order.ClientTimeMs, late.Order.RecvWindowMs = h.now()/1e6-10_000, 5_000
	steps := []struct {
		cmd  matcher.Command
		want string
	}{
		{newOrd(A, "a1", sell, lim, gtc, 100, 10), "Accepted Depth"},
		{newOrd(B, "b1", buy, lim, gtc, 100, 3), "Accepted Trade Depth"},
		{newOrd(B, "", buy, lim, ioc, 99, 5), "Accepted Expired/IOC"},
		{newOrd(B, "", buy, lim, fok, 100, 50), "Accepted Expired/FOK"},
		{newOrd(B, "", buy, mkt, 0, 0, 100), "Accepted Trade Expired/MARKET_NO_LIQUIDITY Depth"},
		{newOrd(A, "a2", sell, lim, gtc, 101, 5), "Accepted Depth"},
		{withSTP(marketByQuote, matcher.STPExpireTaker), "Accepted Expired/STP"},
		{withSTP(newOrd(A, "a3", buy, lim, gtc, 101, 1), matcher.STPExpireMaker), "Accepted Expired/STP Depth Depth"},
		{withSTP(newOrd(A, "", sell, lim, gtc, 101, 1), matcher.STPExpireBoth), "Accepted Expired/STP Expired/STP Depth"},
		{newOrd(A, "mk1", sell, mk, 0, 105, 5), "Accepted Depth"},
		{newOrd(B, "", buy, mk, 0, 105, 1), "Rejected"},
		{amendCmd(A, "mk1", 3), "Amended Depth"},
		{amendCmd(A, "mk1", 10), "Rejected"},
		{cancelCmd(A, 0, "mk1", "c1"), "Canceled/USER Depth"},
		{cancelCmd(A, 999, "", ""), "Rejected"},
		{newOrd(A, "r1", buy, lim, gtc, 90, 2), "Accepted Depth"},
		{replaceCmd(A, matcher.StopOnFailure, "r1", "cr1", newOrd(A, "r2", buy, lim, gtc, 91, 2)), "Canceled/REPLACE Accepted Replaced/SUCCESS/SUCCESS Depth Depth"},
		{replaceCmd(A, matcher.StopOnFailure, "nope", "", newOrd(A, "r3", buy, lim, gtc, 92, 2)), "Rejected Replaced/FAILURE/NOT_ATTEMPTED"},
		{replaceCmd(A, matcher.AllowFailure, "nope", "", newOrd(A, "r3", buy, lim, gtc, 92, 2)), "Rejected Accepted Replaced/FAILURE/SUCCESS Depth"},
		{replaceCmd(A, matcher.AllowFailure, "r3", "", newOrd(A, "", sell, mk, 0, 50, 1)), "Canceled/REPLACE Rejected Replaced/SUCCESS/FAILURE Depth"},
		{replaceCmd(A, matcher.AllowFailure, "nope", "", newOrd(A, "", sell, mk, 0, 50, 1)), "Rejected Rejected Replaced/FAILURE/FAILURE"},
		{matcher.Command{Kind: matcher.CmdCancelAll, Account: A}, "Canceled/CANCEL_ALL Depth"},
		{matcher.Command{Kind: matcher.CmdCancelAll, Account: A}, "Rejected"},
		{late, "Rejected"},
		{newOrd(B, "", buy, lim, gtc, 1, 1), "Rejected"}, // NOTIONAL
		{phaseCmd(matcher.CancelOnly, "maintenance"), "Phase"},
		{newOrd(B, "", buy, lim, gtc, 100, 1), "Rejected"},
		{phaseCmd(matcher.PostOnly, ""), "Phase"},
		{newOrd(B, "", buy, mkt, 0, 0, 1), "Rejected"},
		{phaseCmd(matcher.Halt, "incident 42"), "Phase"},
		{cancelCmd(B, 1, "", ""), "Rejected"},
		{phaseCmd(matcher.Trading, "resolved"), "Phase"},
	}
	for _, s := range steps {
		if got := kinds(h.apply(s.cmd)); got != s.want {
			t.Fatalf("seq %d %s: events %q, want %q (last batch %v)", h.seq, s.cmd.Kind, got, s.want, h.last)
		}
	}
	h.checkCoverage()
}

func TestConvertRoundTripRandom(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 500
	}
	var views []matcher.OrderView
	cid := func() string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return fmt.Sprintf("c%d", rng.IntN(400)) // small space: duplicates happen
	}
	order := func(acct uint64) matcher.Command {
		side := matcher.Side(1 + rng.IntN(2))
		typ := matcher.OrderType(1 + rng.IntN(3))
		c := newOrd(acct, cid(), side, typ, 0, 0, 1+rng.Int64N(12))
		switch typ {
		case matcher.Limit:
			c.Order.TimeInForce = matcher.TimeInForce(1 + rng.IntN(3))
			c.Order.Price = 95 + rng.Int64N(11)
		case matcher.LimitMaker:
			c.Order.Price = 95 + rng.Int64N(11)
		case matcher.Market:
			if rng.IntN(3) == 0 {
				c.Order.Qty, c.Order.QuoteQty = 0, rng.Int64N(1500)
			}
		}
		c.Order.STP = matcher.STPMode(rng.IntN(4))
		if rng.IntN(20) == 0 {
			c.Order.ClientTimeMs, c.Order.RecvWindowMs = h.now()/1e6-rng.Int64N(10_000), 5_000
		}
		return c
	}
	// target picks one of acct's open orders (or a missing one) by id, client id or both.
	target := func(acct uint64) (uint64, string) {
		views = h.book.OpenOrders(acct, views[:0])
		if len(views) == 0 || rng.IntN(8) == 0 {
			return 1 + rng.Uint64N(5000), ""
		}
		o := views[rng.IntN(len(views))]
		switch {
		case o.ClientOrderID == "" || rng.IntN(3) == 0:
			return o.ID, ""
		case rng.IntN(2) == 0:
			return 0, o.ClientOrderID
		default:
			return o.ID, o.ClientOrderID
		}
	}
	for range n {
		acct := uint64(1 + rng.IntN(3))
		var c matcher.Command
		switch r := rng.IntN(100); {
		case r < 55:
			c = order(acct)
		case r < 70:
			id, orig := target(acct)
			c = cancelCmd(acct, id, orig, cid())
		case r < 73:
			c = matcher.Command{Kind: matcher.CmdCancelAll, Account: acct}
		case r < 85:
			id, orig := target(acct)
			c = replaceCmd(acct, matcher.ReplaceMode(1+rng.IntN(2)), orig, cid(), order(acct))
			c.OrderID = id
		case r < 97:
			id, orig := target(acct)
			c = amendCmd(acct, orig, 1+rng.Int64N(12))
			c.OrderID = id
		default:
			p := matcher.Phase(1 + rng.IntN(4))
			if h.book.Phase() != matcher.Trading {
				p = matcher.Trading
			}
			c = phaseCmd(p, fmt.Sprintf("r%d", rng.IntN(3)))
		}
		h.apply(c)
		if t.Failed() {
			return
		}
	}
	if !testing.Short() {
		h.checkCoverage()
	}
}

// TestConvertEventBatchCopies: the batch holds no reference to the matcher's buffer.
func TestConvertEventBatchCopies(t *testing.T) {
	evs := []matcher.Event{
		{Kind: matcher.EvAccepted, OrderID: 1, Account: 5, ClientOrderID: "x", Side: matcher.Buy, Type: matcher.Limit, TimeInForce: matcher.GTC, Price: 10, Qty: 2},
		{Kind: matcher.EvDepthUpdate, UpdateID: 3, Side: matcher.Buy, Price: 10, Qty: 2},
	}
	want := slices.Clone(evs)
	b := eventBatch(testSymbol, 9, 100, 1, "r", evs)
	clear(evs)
	got, err := eventsFromBatch(b)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("after clearing the input: %+v, %v; want %+v", got, err, want)
	}
}

// --- error cases ---------------------------------------------------------------------------

func TestConvertCommandErrors(t *testing.T) {
	good := func() *proto.NewOrder {
		return &proto.NewOrder{Account: 1, Side: proto.Side_SIDE_BUY, Type: proto.OrderType_ORDER_TYPE_LIMIT,
			TimeInForce: proto.TimeInForce_TIME_IN_FORCE_GTC, Price: 1, Qty: 1}
	}
	with := func(f func(*proto.NewOrder)) *proto.NewOrder { o := good(); f(o); return o }
	for _, tc := range []struct {
		name string
		body any
	}{
		{"no body", nil},
		{"side unset", &proto.Command_NewOrder{NewOrder: with(func(o *proto.NewOrder) { o.Side = 0 })}},
		{"type unset", &proto.Command_NewOrder{NewOrder: with(func(o *proto.NewOrder) { o.Type = 0 })}},
		{"unknown side", &proto.Command_NewOrder{NewOrder: with(func(o *proto.NewOrder) { o.Side = 7 })}},
		{"unknown tif", &proto.Command_NewOrder{NewOrder: with(func(o *proto.NewOrder) { o.TimeInForce = 9 })}},
		{"unknown stp", &proto.Command_NewOrder{NewOrder: with(func(o *proto.NewOrder) { o.StpMode = 9 })}},
		{"replace mode unset", &proto.Command_CancelReplace{CancelReplace: &proto.CancelReplace{Account: 1, OrderId: 1, NewOrder: good()}}},
		{"replace without order", &proto.Command_CancelReplace{CancelReplace: &proto.CancelReplace{Account: 1, OrderId: 1, Mode: 1}}},
		{"phase unset", &proto.Command_SetPhase{SetPhase: &proto.SetPhase{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := &proto.Command{SchemaVersion: proto.SchemaVersion, Symbol: testSymbol, RequestId: "r"}
			if tc.body != nil {
				reflect.ValueOf(pc).Elem().FieldByName("Body").Set(reflect.ValueOf(tc.body))
			}
			c, err := commandToMatcher(pc, 1, 1)
			if !errors.Is(err, errUnconvertible) {
				t.Fatalf("got %+v, %v; want errUnconvertible", c, err)
			}
		})
	}
	// Optional fields: UNSPECIFIED time in force is the matcher's unset 0, STP UNSPECIFIED is NONE.
	o := with(func(o *proto.NewOrder) { o.TimeInForce, o.StpMode = 0, 0 })
	c, err := commandToMatcher(&proto.Command{Body: &proto.Command_NewOrder{NewOrder: o}}, 1, 1)
	if err != nil || c.Order.TimeInForce != 0 || c.Order.STP != matcher.STPNone {
		t.Fatalf("unset optional enums: %+v, %v", c, err)
	}
}

func TestConvertEventErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   *proto.Event
	}{
		{"no kind", &proto.Event{}},
		{"cancel reason phase", &proto.Event{Kind: &proto.Event_Canceled{Canceled: &proto.Canceled{Reason: proto.CancelReason_CANCEL_REASON_PHASE}}}},
		{"cancel reason unset", &proto.Event{Kind: &proto.Event_Canceled{Canceled: &proto.Canceled{}}}},
		{"expire reason unset", &proto.Event{Kind: &proto.Event_Expired{Expired: &proto.Expired{}}}},
		{"taker side unset", &proto.Event{Kind: &proto.Event_Trade{Trade: &proto.Trade{}}}},
		{"depth side unknown", &proto.Event{Kind: &proto.Event_DepthUpdate{DepthUpdate: &proto.DepthUpdate{Side: 5}}}},
		{"replace result unset", &proto.Event{Kind: &proto.Event_Replaced{Replaced: &proto.Replaced{CancelResult: 1}}}},
		{"new phase unset", &proto.Event{Kind: &proto.Event_PhaseChanged{PhaseChanged: &proto.PhaseChanged{}}}},
		{"accepted type unknown", &proto.Event{Kind: &proto.Event_Accepted{Accepted: &proto.Accepted{Type: 8}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &proto.EventBatch{CmdSeq: 4, Events: []*proto.Event{{Kind: &proto.Event_DepthUpdate{DepthUpdate: &proto.DepthUpdate{Side: 1}}}, tc.ev}}
			evs, err := eventsFromBatch(b)
			if !errors.Is(err, errUnconvertible) || !strings.Contains(err.Error(), "event 1") {
				t.Fatalf("got %+v, %v; want errUnconvertible naming event 1", evs, err)
			}
		})
	}
}

// --- helpers for fan-out -------------------------------------------------------------------

func TestConvertAccountsOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		evs  []matcher.Event
		want []uint64
	}{
		{"none", nil, nil},
		{"market data only", []matcher.Event{{Kind: matcher.EvDepthUpdate}, {Kind: matcher.EvPhaseChanged}}, nil},
		{"taker and makers", []matcher.Event{
			{Kind: matcher.EvAccepted, Account: 9},
			{Kind: matcher.EvTrade, Account: 9, MakerAccount: 4},
			{Kind: matcher.EvTrade, Account: 9, MakerAccount: 2},
			{Kind: matcher.EvTrade, Account: 9, MakerAccount: 4},
			{Kind: matcher.EvDepthUpdate},
		}, []uint64{2, 4, 9}},
		{"stp maker expired", []matcher.Event{{Kind: matcher.EvExpired, Account: 3}, {Kind: matcher.EvRejected, Account: 1}}, []uint64{1, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := accountsOf(tc.evs); !slices.Equal(got, tc.want) {
				t.Fatalf("accountsOf = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConvertFilterEvents(t *testing.T) {
	evs := []matcher.Event{
		{Kind: matcher.EvAccepted, OrderID: 2, Account: 1, Side: matcher.Buy, Type: matcher.Market, Qty: 3},
		{Kind: matcher.EvTrade, TradeID: 1, Price: 5, Qty: 1, QuoteQty: 5, OrderID: 2, Account: 1, Side: matcher.Buy, ExecutedQty: 1, ExecutedQuote: 5, MakerOrderID: 1, MakerAccount: 2, MakerQty: 1, MakerExecutedQty: 1, MakerExecutedQuote: 5},
		{Kind: matcher.EvDepthUpdate, UpdateID: 1, Side: matcher.Sell, Price: 5},
	}
	b := eventBatch(testSymbol, 3, 99, 2, "rq", evs)
	trades := filterEvents(b, func(e *proto.Event) bool { return e.GetTrade() != nil })
	if trades == nil || len(trades.GetEvents()) != 1 || trades.GetEvents()[0] != b.GetEvents()[1] {
		t.Fatalf("trades: %v", trades)
	}
	hdr := gproto.Clone(b).(*proto.EventBatch)
	hdr.Events = trades.Events
	if !gproto.Equal(hdr, trades) {
		t.Fatalf("header not copied: %v vs %v", trades, b)
	}
	if len(b.GetEvents()) != 3 {
		t.Fatalf("source batch changed: %v", b)
	}
	if err := trades.Validate(); err != nil {
		t.Fatalf("filtered batch invalid: %v", err)
	}
	if none := filterEvents(b, func(*proto.Event) bool { return false }); none != nil {
		t.Fatalf("nothing kept: %v, want nil", none)
	}
}

// --- symbol spec ---------------------------------------------------------------------------

func specEqual(a, b matcher.Spec) bool {
	return a.Symbol == b.Symbol && a.BaseAsset == b.BaseAsset && a.QuoteAsset == b.QuoteAsset &&
		a.TickSize.Equal(b.TickSize) && a.StepSize.Equal(b.StepSize) &&
		a.MinPrice.Equal(b.MinPrice) && a.MaxPrice.Equal(b.MaxPrice) &&
		a.MinQty.Equal(b.MinQty) && a.MaxQty.Equal(b.MaxQty) &&
		a.MinNotional.Equal(b.MinNotional) && a.MaxNotional.Equal(b.MaxNotional) &&
		a.MaxNumOrders == b.MaxNumOrders
}

func TestConvertSpecRoundTrip(t *testing.T) {
	d := decimal.RequireFromString
	btc := matcher.Spec{
		Symbol: "BTCUSDT", BaseAsset: "BTC", QuoteAsset: "USDT",
		TickSize: d("0.01"), StepSize: d("0.00001"), MinPrice: d("0.01"), MaxPrice: d("1000000"),
		MinQty: d("0.00001"), MaxQty: d("9000"), MinNotional: d("5"), MaxNumOrders: 200,
	}
	for _, s := range []matcher.Spec{matcher.DefaultSpec(), btc, testSpec()} {
		t.Run(s.Symbol, func(t *testing.T) {
			ps := specToProto(s)
			if ps.GetMaxNotional() != "" && s.MaxNotional.IsZero() {
				t.Errorf("zero max notional written as %q, want empty", ps.GetMaxNotional())
			}
			got, err := specFromProto(ps)
			if err != nil {
				t.Fatal(err)
			}
			if !specEqual(got, s) {
				t.Fatalf("round trip: %+v, want %+v", got, s)
			}
		})
	}
	if ps := specToProto(btc); ps.GetTickSize() != "0.01" || ps.GetStepSize() != "0.00001" || ps.GetMaxNotional() != "" || ps.GetMaxNumOrders() != 200 {
		t.Errorf("specToProto(btc) = %v", ps)
	}
}

func TestConvertSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*proto.SymbolSpec)
		want error
	}{
		{"zero tick", func(s *proto.SymbolSpec) { s.TickSize = "0" }, proto.ErrInvalid},
		{"exponent", func(s *proto.SymbolSpec) { s.MaxQty = "1e5" }, proto.ErrInvalid},
		{"garbage", func(s *proto.SymbolSpec) { s.MinPrice = "abc" }, proto.ErrInvalid},
		{"lower-case symbol", func(s *proto.SymbolSpec) { s.Symbol = "btcusdt" }, proto.ErrInvalid},
		{"price off tick", func(s *proto.SymbolSpec) { s.MinPrice = "0.015" }, matcher.ErrInvalidSpec},
		{"no max price", func(s *proto.SymbolSpec) { s.MaxPrice = "" }, matcher.ErrInvalidSpec},
		{"min above max", func(s *proto.SymbolSpec) { s.MinQty = "10000" }, matcher.ErrInvalidSpec},
		{"overflow", func(s *proto.SymbolSpec) { s.MaxPrice, s.MaxQty = "90000000000", "9000000" }, matcher.ErrInvalidSpec},
		{"max orders", func(s *proto.SymbolSpec) { s.MaxNumOrders = 1 << 31 }, matcher.ErrInvalidSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := &proto.SymbolSpec{
				Symbol: "BTCUSDT", BaseAsset: "BTC", QuoteAsset: "USDT", TickSize: "0.01", StepSize: "0.001",
				MinPrice: "0.01", MaxPrice: "100000", MinQty: "0.001", MaxQty: "9000",
			}
			if _, err := specFromProto(ps); err != nil {
				t.Fatalf("base spec: %v", err)
			}
			tc.mut(ps)
			s, err := specFromProto(ps)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %+v, %v; want %v", s, err, tc.want)
			}
		})
	}
}

// --- benchmarks ----------------------------------------------------------------------------

func BenchmarkConvertEventBatch(b *testing.B) {
	evs := []matcher.Event{
		{Kind: matcher.EvAccepted, OrderID: 10, Account: 1, ClientOrderID: "web_8f3a2c", Side: matcher.Buy, Type: matcher.Limit, TimeInForce: matcher.GTC, Price: 101, Qty: 30},
		{Kind: matcher.EvTrade, TradeID: 1, Price: 100, Qty: 10, QuoteQty: 1000, OrderID: 10, Account: 1, ClientOrderID: "web_8f3a2c", Side: matcher.Buy, ExecutedQty: 10, ExecutedQuote: 1000, MakerOrderID: 3, MakerAccount: 2, MakerQty: 10, MakerExecutedQty: 10, MakerExecutedQuote: 1000},
		{Kind: matcher.EvTrade, TradeID: 2, Price: 101, Qty: 10, QuoteQty: 1010, OrderID: 10, Account: 1, ClientOrderID: "web_8f3a2c", Side: matcher.Buy, ExecutedQty: 20, ExecutedQuote: 2010, MakerOrderID: 4, MakerAccount: 3, MakerQty: 15, MakerExecutedQty: 10, MakerExecutedQuote: 1010},
		{Kind: matcher.EvDepthUpdate, UpdateID: 7, Side: matcher.Sell, Price: 100},
		{Kind: matcher.EvDepthUpdate, UpdateID: 7, Side: matcher.Sell, Price: 101, Qty: 5},
	}
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = eventBatch(testSymbol, 1, 1, 1, "req", evs)
		}
	})
	b.Run("build+marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gproto.Marshal(eventBatch(testSymbol, 1, 1, 1, "req", evs)); err != nil {
				b.Fatal(err)
			}
		}
	})
	data, _ := gproto.Marshal(eventBatch(testSymbol, 1, 1, 1, "req", evs))
	b.Run("decode+convert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pb, err := proto.DecodeEventBatch(data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := eventsFromBatch(pb); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkConvertCommandToMatcher(b *testing.B) {
	pc := commandFromMatcher(testSymbol, "req", newOrd(1, "web_8f3a2c", matcher.Buy, matcher.Limit, matcher.GTC, 100, 10))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := commandToMatcher(pc, 1, 1); err != nil {
			b.Fatal(err)
		}
	}
}
