package gateway_test

import (
	"context"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"

	"github.com/geomesh/geomesh/gateway"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/test/meshtest"
)

const sym = "BTCUSDT"

// A bootstrap key every test gateway creates from its configuration.
const (
	demoKey    = "demoKey0123456789demoKey0123456789demoKey0123456789demoKey01234"
	demoSecret = "demoSecret"
)

// env is a 3-region mesh with BTCUSDT homed in us-east and a gateway in every region.
type env struct {
	m  *meshtest.Mesh
	gw map[string]*gateway.Gateway
}

func newEnv(t *testing.T, tune ...func(*region.Config)) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-region mesh")
	}
	opts := meshtest.Options{Symbols: []region.SymbolConfig{
		region.DemoSymbol(sym, "BTC", "USDT", "us-east", "eu-west", "ap-south")}}
	if len(tune) > 0 {
		opts.Tune = tune[0]
	}
	m := meshtest.New(t, opts)
	m.AwaitConverged()
	m.AwaitOwner(sym, meshtest.HomeIs("us-east"))
	e := &env{m: m, gw: map[string]*gateway.Gateway{}}
	for _, r := range m.Regions() {
		e.gw[r] = e.startGateway(t, r, nil)
	}
	return e
}

// startGateway starts a gateway in region r (tune adjusts its config), closed by t.Cleanup.
func (e *env) startGateway(t *testing.T, r string, tune func(*gateway.Config)) *gateway.Gateway {
	t.Helper()
	cfg := gateway.LocalConfig()
	cfg.Region, cfg.NC, cfg.Submitter = r, e.m.Node(r).Conn(), e.m.Node(r).Submitter()
	cfg.BootstrapKeys = []gateway.BootstrapKey{{APIKey: demoKey, Secret: demoSecret, Account: 99}}
	if tune != nil {
		tune(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.Start(ctx); err != nil {
		t.Fatalf("start gateway %s: %v", r, err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// client returns a go-binance client of a new API key for account, pointed at region's gateway.
func (e *env) client(t *testing.T, region string, account uint64) *binance.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key, secret, err := gateway.CreateAPIKey(ctx, e.m.Node(region).JetStream(), account)
	if err != nil {
		t.Fatal(err)
	}
	c := binance.NewClient(key, secret)
	c.BaseURL = e.gw[region].URL()
	// every gateway learns the key from its KV watch: wait until this one authenticates it
	meshtest.Poll(10*time.Second, func() error {
		_, err := c.NewGetAccountService().Do(context.Background())
		return err
	})
	return c
}

// ctxT is a context for a whole test: 90 s, ended by the test's cleanup.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// await polls cond until it returns nil, failing the test with its last error.
func await(t *testing.T, what string, cond func() error) {
	t.Helper()
	if err := meshtest.Poll(15*time.Second, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// startBenchGateway starts a gateway in region for a benchmark and returns its URL.
func startBenchGateway(b *testing.B, m *meshtest.Mesh, r string) string {
	cfg := gateway.LocalConfig()
	cfg.Region, cfg.NC, cfg.Submitter = r, m.Node(r).Conn(), m.Node(r).Submitter()
	cfg.WeightLimit, cfg.OrderLimit10s = -1, -1
	cfg.ReadYourWrites = time.Nanosecond
	g, err := gateway.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	return g.URL()
}

func benchClient(b *testing.B, m *meshtest.Mesh, url string, account uint64) *binance.Client {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key, secret, err := gateway.CreateAPIKey(ctx, m.Node("us-east").JetStream(), account)
	if err != nil {
		b.Fatal(err)
	}
	c := binance.NewClient(key, secret)
	c.BaseURL = url
	if err := meshtest.Poll(10*time.Second, func() error {
		_, err := c.NewGetAccountService().Do(context.Background())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return c
}
