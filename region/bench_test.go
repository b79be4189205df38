package region_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/region/client"
	"github.com/geomesh/geomesh/test/meshtest"
)

// BenchmarkMatcherThroughput measures how many commands per second one symbol's matcher turns
// into durable EVT_<S> batches on a 3-region mesh: b.N new orders are appended to CMD_<S> as
// fast as JetStream takes them (async publishes), and the clock stops when EVT_<S> holds the
// events of the last one. The matcher keeps up to maxInflight EVT appends in flight, so this is
// not bounded by one R3 round trip per command.
//
//	go test -run '^$' -bench MatcherThroughput -benchtime 20000x ./region/
func BenchmarkMatcherThroughput(b *testing.B) {
	m := meshtest.New(b, meshtest.Options{Symbols: []region.SymbolConfig{
		region.DemoSymbol(sym, "BTC", "USDT", "us-east", "eu-west", "ap-south")}})
	m.AwaitConverged()
	m.AwaitOwner(sym, meshtest.HomeIs("us-east"))
	nc := m.Node("eu-west").Conn()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmdStream, err := js.Stream(ctx, client.CmdStream(sym))
	if err != nil {
		b.Fatal(err)
	}
	evtStream, err := js.Stream(ctx, client.EvtStream(sym))
	if err != nil {
		b.Fatal(err)
	}
	info, err := cmdStream.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	base := info.State.LastSeq
	msgs := make([]*nats.Msg, b.N)
	for i := range msgs {
		side := proto.Side_SIDE_BUY
		if i%2 == 1 {
			side = proto.Side_SIDE_SELL
		}
		id := fmt.Sprintf("tp-%d", i)
		cmd := newOrder(sym, id, uint64(1+i%50), side, proto.TimeInForce_TIME_IN_FORCE_GTC, 1_000_000+int64(i%200)*100, 100)
		if i%3 == 2 { // a third of them take liquidity
			cmd.GetNewOrder().TimeInForce = proto.TimeInForce_TIME_IN_FORCE_IOC
		}
		cmd.SchemaVersion = proto.SchemaVersion
		data, err := gproto.Marshal(cmd)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = &nats.Msg{Subject: client.CmdSubject(sym), Data: data, Header: nats.Header{}}
		msgs[i].Header.Set(jetstream.MsgIDHeader, id)
	}
	b.ResetTimer()
	start := time.Now()
	for i, msg := range msgs {
		if _, err := js.PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 || i == len(msgs)-1 { // stay under the client's async window
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				b.Fatal("appends not acknowledged")
			}
		}
	}
	appended := time.Since(start)
	want := base + uint64(b.N)
	for {
		info, err := evtStream.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if info.State.LastSeq >= want {
			break
		}
		if time.Since(start) > 5*time.Second && time.Since(start)%time.Second < time.Millisecond {
			b.Logf("EVT at %d of %d after %v", info.State.LastSeq, want, time.Since(start))
		}
		if ctx.Err() != nil {
			b.Fatalf("EVT_%s at %d of %d", sym, info.State.LastSeq, want)
		}
		time.Sleep(time.Millisecond) // polling the stream's end, not synchronizing
	}
	total := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/total.Seconds(), "cmds/s")
	b.ReportMetric(float64(b.N)/appended.Seconds(), "appends/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkMeshThroughput is BenchmarkMatcherThroughput over six symbols, two homed in each
// region, with each region's connection appending to every symbol: the ceiling of the mesh's
// core in commands/s (CMD append, matching, EVT append and fan-out) without gateways, their
// replicas, HTTP, signing or a load client. Orders/s through the gateways stay below it.
//
//	go test -run '^$' -bench MeshThroughput -benchtime 60000x ./region/
func BenchmarkMeshThroughput(b *testing.B) {
	regions := []string{"us-east", "eu-west", "ap-south"}
	var syms []region.SymbolConfig
	for i := range 6 {
		home := regions[i%3]
		syms = append(syms, region.DemoSymbol(fmt.Sprintf("T%03dUSDT", i), fmt.Sprintf("T%03d", i), "USDT",
			home, regions[(i+1)%3], regions[(i+2)%3]))
	}
	m := meshtest.New(b, meshtest.Options{Symbols: syms})
	m.AwaitConverged()
	for i, s := range syms {
		m.AwaitOwner(s.Symbol, meshtest.HomeIs(regions[i%3]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	jss := make([]jetstream.JetStream, len(regions))
	for i, r := range regions {
		js, err := jetstream.New(m.Node(r).Conn())
		if err != nil {
			b.Fatal(err)
		}
		jss[i] = js
	}
	want := map[string]uint64{}
	for _, s := range syms {
		st, err := jss[0].Stream(ctx, client.CmdStream(s.Symbol))
		if err != nil {
			b.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		want[s.Symbol] = info.State.LastSeq
	}
	msgs := make([]*nats.Msg, b.N)
	for i := range msgs {
		s := syms[i%len(syms)].Symbol
		want[s]++
		side := proto.Side_SIDE_BUY
		if (i/len(syms))%2 == 1 {
			side = proto.Side_SIDE_SELL
		}
		id := fmt.Sprintf("mt-%d", i)
		cmd := newOrder(s, id, uint64(1+i%50), side, proto.TimeInForce_TIME_IN_FORCE_GTC, 1_000_000+int64(i%200)*100, 100)
		if i%3 == 2 {
			cmd.GetNewOrder().TimeInForce = proto.TimeInForce_TIME_IN_FORCE_IOC
		}
		cmd.SchemaVersion = proto.SchemaVersion
		data, err := gproto.Marshal(cmd)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = &nats.Msg{Subject: client.CmdSubject(s), Data: data, Header: nats.Header{}}
		msgs[i].Header.Set(jetstream.MsgIDHeader, id)
	}
	b.ResetTimer()
	start := time.Now()
	for i, msg := range msgs {
		js := jss[i%len(jss)]
		if _, err := js.PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 || i == len(msgs)-1 {
			for _, js := range jss {
				select {
				case <-js.PublishAsyncComplete():
				case <-ctx.Done():
					b.Fatal("appends not acknowledged")
				}
			}
		}
	}
	appended := time.Since(start)
	for _, s := range syms {
		st, err := jss[0].Stream(ctx, client.EvtStream(s.Symbol))
		if err != nil {
			b.Fatal(err)
		}
		for {
			info, err := st.Info(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if info.State.LastSeq >= want[s.Symbol] {
				break
			}
			if ctx.Err() != nil {
				b.Fatalf("EVT_%s at %d of %d", s.Symbol, info.State.LastSeq, want[s.Symbol])
			}
			time.Sleep(time.Millisecond) // polling the stream's end, not synchronizing
		}
	}
	total := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/total.Seconds(), "cmds/s")
	b.ReportMetric(float64(b.N)/appended.Seconds(), "appends/s")
	b.ReportMetric(0, "ns/op")
}
