package client

import (
	"testing"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/test/deptest"
)

func TestImports(t *testing.T) {
	deptest.Check(t, ".", "github.com/geomesh/geomesh/proto", "github.com/nats-io/nats.go",
		"google.golang.org/protobuf")
}

func TestNames(t *testing.T) {
	if CmdStream("BTCUSDT") != "CMD_BTCUSDT" || CmdSubject("BTCUSDT") != "cmd.BTCUSDT" ||
		EvtStream("BTCUSDT") != "EVT_BTCUSDT" || EvtSubject("BTCUSDT") != "evt.BTCUSDT" ||
		UserSubject(42) != "user.42" || TradeSubject("ETHBTC") != "md.ETHBTC.trade" ||
		DepthSubject("ETHBTC") != "md.ETHBTC.depth" {
		t.Fatal("a name in the DESIGN.md contract changed")
	}
	for s, want := range map[string]bool{"BTCUSDT": true, "1INCHUSDT": true, "btcusdt": false,
		"BTC.USDT": false, "B": false, "BTC USDT": false, "": false} {
		if got := ValidSymbol(s); got != want {
			t.Errorf("ValidSymbol(%q) = %v", s, got)
		}
	}
}

func TestResultOf(t *testing.T) {
	b := &proto.EventBatch{Symbol: "BTCUSDT", RequestId: "r", CmdSeq: 7, Events: []*proto.Event{
		{Kind: &proto.Event_Rejected{Rejected: &proto.Rejected{Code: -2010, Msg: "Duplicate order sent."}}}}}
	res := ResultOf(b)
	if res.Status != proto.CommandStatus_COMMAND_STATUS_REJECTED || res.RejectCode != -2010 || res.CmdSeq != 7 {
		t.Fatalf("ResultOf rejected = %v", res)
	}
	b.Events[0] = &proto.Event{Kind: &proto.Event_Accepted{Accepted: &proto.Accepted{OrderId: 1}}}
	if res := ResultOf(b); res.Status != proto.CommandStatus_COMMAND_STATUS_ACCEPTED {
		t.Fatalf("ResultOf accepted = %v", res)
	}
}
