package gateway_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/region/client"
	"github.com/geomesh/geomesh/test/meshtest"
)

// benchSeq keeps request ids unique across -count repetitions (which share one mesh): a
// repeated id would measure the dedupe path instead of an order.
var benchSeq atomic.Int64

func reportLatency(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	q := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkOrderLatency measures, in one mesh, the raw JetStream R3 append latency from the
// home region and the gateway's POST /api/v3/order latency (go-binance client, home region's
// gateway) for newOrderRespType ACK and FULL. Orders alternate sides at one price between two
// accounts so that the book stays small.
func BenchmarkOrderLatency(b *testing.B) {
	m := meshtest.New(b, meshtest.Options{Symbols: []region.SymbolConfig{
		region.DemoSymbol(sym, "BTC", "USDT", "us-east", "eu-west", "ap-south")}})
	m.AwaitConverged()
	m.AwaitOwner(sym, meshtest.HomeIs("us-east"))
	// The gateway (and its EVT follower) runs during every sub-benchmark, so all of them see the
	// same background load.
	gwURL := startBenchGateway(b, m, "us-east")
	b.Run("raw_append_R3", func(b *testing.B) {
		js := m.Node("us-east").JetStream()
		ctx := context.Background()
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.x"}, Replicas: 3})
		if err != nil {
			b.Fatal(err)
		}
		d := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			if _, err := js.Publish(ctx, "bench.x", make([]byte, 120)); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		reportLatency(b, d)
	})
	for _, wait := range []client.Wait{client.WaitAck, client.WaitResult} {
		b.Run(fmt.Sprintf("submitter_wait%d", wait), func(b *testing.B) {
			sub := m.Node("us-east").Submitter()
			d := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				side := proto.Side_SIDE_BUY
				if i%2 == 1 {
					side = proto.Side_SIDE_SELL
				}
				id := fmt.Sprintf("s-%d-%d", wait, benchSeq.Add(1))
				cmd := &proto.Command{Symbol: sym, RequestId: id, Body: &proto.Command_NewOrder{NewOrder: &proto.NewOrder{
					Account: uint64(1 + i%2), ClientOrderId: id, Side: side, Type: proto.OrderType_ORDER_TYPE_LIMIT,
					TimeInForce: proto.TimeInForce_TIME_IN_FORCE_GTC, Price: 1000000, Qty: 100}}}
				start := time.Now()
				if _, err := sub.Submit(context.Background(), cmd, wait); err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(start))
			}
			reportLatency(b, d)
		})
	}
	clients := []*binance.Client{benchClient(b, m, gwURL, 1), benchClient(b, m, gwURL, 2)}
	b.Run("ping", func(b *testing.B) {
		d := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			start := time.Now()
			if err := clients[0].NewPingService().Do(context.Background()); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		reportLatency(b, d)
	})
	b.Run("account", func(b *testing.B) {
		d := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			start := time.Now()
			if _, err := clients[0].NewGetAccountService().Do(context.Background()); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		reportLatency(b, d)
	})
	for _, resp := range []binance.NewOrderRespType{binance.NewOrderRespTypeACK, binance.NewOrderRespTypeFULL} {
		b.Run("order_"+string(resp), func(b *testing.B) {
			ctx := context.Background()
			d := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				side := binance.SideTypeBuy
				if i%2 == 1 {
					side = binance.SideTypeSell
				}
				start := time.Now()
				_, err := clients[i%2].NewCreateOrderService().Symbol(sym).Side(side).Type(binance.OrderTypeLimit).
					TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.001").Price("10000.00").NewOrderRespType(resp).
					NewClientOrderID(fmt.Sprintf("b-%s-%d", resp, benchSeq.Add(1))).Do(ctx)
				if err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(start))
			}
			reportLatency(b, d)
		})
	}
}
