package gateway

import (
	"time"

	"testing"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
)

func accepted(id, acct uint64, cid string, side proto.Side, typ proto.OrderType, tif proto.TimeInForce, price, qty int64) *proto.Event {
	return &proto.Event{Kind: &proto.Event_Accepted{Accepted: &proto.Accepted{OrderId: id, Account: acct, ClientOrderId: cid,
		Side: side, Type: typ, TimeInForce: tif, Price: price, Qty: qty, TimeUnixNano: 1e9}}}
}

func trade(id, maker, taker uint64, price, qty, makerExec, makerQty, takerExec int64) *proto.Event {
	return &proto.Event{Kind: &proto.Event_Trade{Trade: &proto.Trade{TradeId: id, Price: price, Qty: qty, QuoteQty: price * qty,
		MakerOrderId: maker, MakerAccount: 1, TakerOrderId: taker, TakerAccount: 2, TakerSide: proto.Side_SIDE_BUY,
		MakerExecutedQty: makerExec, MakerOrderQty: makerQty, TakerExecutedQty: takerExec,
		MakerExecutedQuoteQty: price * makerExec, TakerExecutedQuoteQty: price * takerExec}}}
}

func depthUpd(id uint64, side proto.Side, price, qty int64) *proto.Event {
	return &proto.Event{Kind: &proto.Event_DepthUpdate{DepthUpdate: &proto.DepthUpdate{UpdateId: id, Side: side, Price: price, Qty: qty}}}
}

const (
	buy  = proto.Side_SIDE_BUY
	sell = proto.Side_SIDE_SELL
	lim  = proto.OrderType_ORDER_TYPE_LIMIT
	mkt  = proto.OrderType_ORDER_TYPE_MARKET
	gtc  = proto.TimeInForce_TIME_IN_FORCE_GTC
	ioc  = proto.TimeInForce_TIME_IN_FORCE_IOC
)

// TestReplicaOrderStates folds event batches and checks each order's Binance status.
func TestReplicaOrderStates(t *testing.T) {
	tests := []struct {
		name    string
		batches [][]*proto.Event
		want    map[uint64]string // order id -> status
		exec    map[uint64]int64
	}{
		{"resting", [][]*proto.Event{{accepted(1, 1, "a", sell, lim, gtc, 100, 10), depthUpd(1, sell, 100, 10)}},
			map[uint64]string{1: statusNew}, nil},
		{"partial maker, filled market taker", [][]*proto.Event{
			{accepted(1, 1, "a", sell, lim, gtc, 100, 10)},
			{accepted(2, 2, "b", buy, mkt, 0, 0, 4), trade(1, 1, 2, 100, 4, 4, 10, 4)}},
			map[uint64]string{1: statusPartiallyFilled, 2: statusFilled}, map[uint64]int64{1: 4, 2: 4}},
		{"maker filled, IOC remainder expired", [][]*proto.Event{
			{accepted(1, 1, "a", sell, lim, gtc, 100, 3)},
			{accepted(2, 2, "b", buy, lim, ioc, 100, 5), trade(1, 1, 2, 100, 3, 3, 3, 3),
				{Kind: &proto.Event_Expired{Expired: &proto.Expired{OrderId: 2, Account: 2, ExecutedQty: 3, Reason: proto.ExpireReason_EXPIRE_REASON_IOC}}}}},
			map[uint64]string{1: statusFilled, 2: statusExpired}, map[uint64]int64{1: 3, 2: 3}},
		{"canceled", [][]*proto.Event{
			{accepted(1, 1, "a", sell, lim, gtc, 100, 3)},
			{{Kind: &proto.Event_Canceled{Canceled: &proto.Canceled{OrderId: 1, Account: 1, ClientOrderId: "a"}}}}},
			map[uint64]string{1: statusCanceled}, nil},
		{"stp", [][]*proto.Event{
			{accepted(1, 1, "a", sell, lim, gtc, 100, 3)},
			{{Kind: &proto.Event_Expired{Expired: &proto.Expired{OrderId: 1, Account: 1, Reason: proto.ExpireReason_EXPIRE_REASON_STP}}}}},
			map[uint64]string{1: statusExpiredInMatch}, nil},
		{"amended", [][]*proto.Event{
			{accepted(1, 1, "a", sell, lim, gtc, 100, 10)},
			{{Kind: &proto.Event_Amended{Amended: &proto.Amended{OrderId: 1, Account: 1, NewQty: 5}}}}},
			map[uint64]string{1: statusNew}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBook("BTCUSDT", matcher.DefaultSpec(), 10, 100)
			for i, evs := range tc.batches {
				b.applyBatch(&proto.EventBatch{CmdSeq: uint64(i + 1), CmdTimeUnixNano: int64(i+1) * 1e9, Events: evs})
			}
			for id, st := range tc.want {
				o := b.byID(id)
				if o == nil || o.Status != st {
					t.Fatalf("order %d = %+v, want %s", id, o, st)
				}
				if want, ok := tc.exec[id]; ok && o.Executed != want {
					t.Fatalf("order %d executed %d, want %d", id, o.Executed, want)
				}
			}
			for id, o := range b.orders {
				_, open := b.open[o.Account][id]
				if open != isOpen(o.Status) {
					t.Fatalf("open index of %d: %v, status %s", id, open, o.Status)
				}
			}
		})
	}
}

func TestReplicaDepthAndTrades(t *testing.T) {
	b := newBook("BTCUSDT", matcher.DefaultSpec(), 2, 100)
	b.applyBatch(&proto.EventBatch{CmdSeq: 1, Events: []*proto.Event{depthUpd(1, sell, 101, 5), depthUpd(1, sell, 100, 3), depthUpd(1, buy, 99, 7)}})
	b.applyBatch(&proto.EventBatch{CmdSeq: 1, Events: []*proto.Event{depthUpd(9, buy, 1, 1)}}) // repeated seq: ignored
	b.applyBatch(&proto.EventBatch{CmdSeq: 2, Events: []*proto.Event{depthUpd(2, sell, 100, 0), trade(1, 1, 2, 100, 3, 3, 3, 3),
		trade(2, 1, 2, 100, 1, 1, 1, 1), trade(3, 1, 2, 100, 1, 1, 1, 1)}})
	bids, asks, id := b.depth(10)
	if id != 2 || len(bids) != 1 || bids[0] != (level{99, 7}) || len(asks) != 1 || asks[0] != (level{101, 5}) {
		t.Fatalf("depth %v %v %d", bids, asks, id)
	}
	if tr := b.recentTrades(10); len(tr) != 2 || tr[0].ID != 2 || tr[1].ID != 3 {
		t.Fatalf("recent trades keep the last 2: %+v", tr)
	}
	if seq, _ := b.appliedSeq(); seq != 2 {
		t.Fatalf("seq %d", seq)
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(10, 2)
	now := timeAt(0)
	if used, st, _ := l.addWeight("a", 6, now); used != 6 || st != 0 {
		t.Fatalf("first: %d %d", used, st)
	}
	if _, st, retry := l.addWeight("a", 5, now); st != 429 || retry != 60 {
		t.Fatalf("over: %d %d", st, retry)
	}
	if _, st, _ := l.addWeight("b", 5, now); st != 0 {
		t.Fatal("per IP")
	}
	for i := 0; i < banAfter429s; i++ {
		l.addWeight("a", 5, now)
	}
	if _, st, _ := l.addWeight("a", 5, now); st != 418 {
		t.Fatalf("ban: %d", st)
	}
	if used, st, _ := l.addWeight("a", 5, timeAt(60)); used != 5 || st != 0 {
		t.Fatalf("next minute: %d %d", used, st)
	}
	l.addOrder(1, now)
	l.addOrder(1, now)
	if _, _, ok := l.addOrder(1, now); ok {
		t.Fatal("third order in 10 s allowed")
	}
	if n, day, ok := l.addOrder(1, timeAt(10)); !ok || n != 1 || day != 3 {
		t.Fatalf("next window: %d %d %v", n, day, ok)
	}
}

func timeAt(sec int64) time.Time { return time.Unix(1_700_000_040+sec, 0) }

func TestReplicaForgetsOldEndedOrders(t *testing.T) {
	b := newBook("BTCUSDT", matcher.DefaultSpec(), 10, 2)
	cancel := func(id uint64) *proto.Event {
		return &proto.Event{Kind: &proto.Event_Canceled{Canceled: &proto.Canceled{OrderId: id, Account: 1, ClientOrderId: "c"}}}
	}
	seq := uint64(0)
	for id := uint64(1); id <= 4; id++ {
		seq++
		b.applyBatch(&proto.EventBatch{CmdSeq: seq, Events: []*proto.Event{accepted(id, 1, "c", sell, lim, gtc, 100, 1)}})
	}
	for id := uint64(1); id <= 3; id++ {
		seq++
		b.applyBatch(&proto.EventBatch{CmdSeq: seq, Events: []*proto.Event{cancel(id)}})
	}
	if b.byID(1) != nil || b.byID(2) == nil || b.byID(3) == nil || b.byID(4) == nil {
		t.Fatalf("want order 1 forgotten, 2-4 kept: %v", b.orders)
	}
	if o := b.lookup(1, 0, "c"); o == nil || o.ID != 4 {
		t.Fatalf("client id lookup: %+v", o) // the newest order with the id keeps it
	}
}
