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
//	go test -run '^$' -bench MatcherThroughput -benchtime 60000x ./region/
func BenchmarkMatcherThroughput(b *testing.B) {
	m := meshtest.New(b, meshtest.Options{Symbols: []region.SymbolConfig{
		region.DemoSymbol(sym, "BTC", "USDT", "us-east", "eu-west", "ap-south")}})
	m.AwaitConverged()
	m.AwaitOwner(sym, meshtest.HomeIs("us-east"))
	benchThroughput(b, m, []string{sym}, []string{"eu-west"})
}

// BenchmarkMeshThroughput is BenchmarkMatcherThroughput over six symbols, two homed in each
// region, with each region's connection appending to every symbol: the ceiling of the mesh's
// core in commands/s (CMD append, matching, EVT append and fan-out) without gateways, their
// replicas, HTTP, signing or a load client. Orders/s through the gateways stay below it.
//
//	go test -run '^$' -bench MeshThroughput -benchtime 60000x ./region/
func BenchmarkMeshThroughput(b *testing.B) {
	regions := []string{"us-east", "eu-west", "ap-south"}
	var cfgs []region.SymbolConfig
	var syms []string
	for i := range 6 {
		s := fmt.Sprintf("T%03dUSDT", i)
		cfgs = append(cfgs, region.DemoSymbol(s, fmt.Sprintf("T%03d", i), "USDT",
			regions[i%3], regions[(i+1)%3], regions[(i+2)%3]))
		syms = append(syms, s)
	}
	m := meshtest.New(b, meshtest.Options{Symbols: cfgs})
	m.AwaitConverged()
	for i, s := range syms {
		m.AwaitOwner(s, meshtest.HomeIs(regions[i%3]))
	}
	benchThroughput(b, m, syms, regions)
}

// benchThroughput appends b.N new orders, spread over syms in turn, through the connections of
// the regions from in turn (async publishes, at most 1,000 unacknowledged per connection), and
// reports commands/s until every symbol's EVT_<S> holds the events of its last command. A third
// of the orders are IOC and take liquidity.
func benchThroughput(b *testing.B, m *meshtest.Mesh, syms, from []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	jss := make([]jetstream.JetStream, len(from))
	for i, r := range from {
		js, err := jetstream.New(m.Node(r).Conn())
		if err != nil {
			b.Fatal(err)
		}
		jss[i] = js
	}
	want := map[string]uint64{}
	for _, s := range syms {
		st, err := jss[0].Stream(ctx, client.CmdStream(s))
		if err != nil {
			b.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		want[s] = info.State.LastSeq
	}
	msgs := make([]*nats.Msg, b.N)
	for i := range msgs {
		s := syms[i%len(syms)]
		want[s]++
		side := proto.Side_SIDE_BUY
		if (i/len(syms))%2 == 1 {
			side = proto.Side_SIDE_SELL
		}
		id := fmt.Sprintf("tp-%d", i)
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
		if _, err := jss[i%len(jss)].PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 || i == len(msgs)-1 { // stay under the client's async window
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
		st, err := jss[0].Stream(ctx, client.EvtStream(s))
		if err != nil {
			b.Fatal(err)
		}
		for {
			info, err := st.Info(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if info.State.LastSeq >= want[s] {
				break
			}
			if ctx.Err() != nil {
				b.Fatalf("EVT_%s at %d of %d", s, info.State.LastSeq, want[s])
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
