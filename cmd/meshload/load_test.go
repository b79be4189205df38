package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/geomesh/geomesh/gateway"
)

// testOptions are the flags' defaults for a short, small run.
func testOptions(t *testing.T) options {
	return options{rate: 40, duration: 4 * time.Second, resp: []string{"ACK", "FULL"}, wsFraction: 0.3,
		wsConns: 4, httpConns: 16, mix: mix{place: 50, cancel: 25, replace: 20, cross: 5}, maxOpen: 10, levels: 20,
		journal: filepath.Join(t.TempDir(), "journal.ndjson"), retry: true, requestTimeout: time.Minute,
		recvWindow: 60000, maxInFlight: 1000, rawRate: 20, rawSize: 160, rawReplicas: 3, output: "json",
		maxErrors: -1, seed: 7}
}

// startMesh starts an in-process 3-region mesh with gateways and accounts, closed by cleanup.
func startMesh(t *testing.T, accounts []account) *localMesh {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-region mesh")
	}
	regions := []string{"us-east", "eu-west", "ap-south"}
	m := &localMesh{regions: regions, symbols: demoSymbols(regions, 3), log: slog.New(slog.DiscardHandler)}
	for _, a := range accounts {
		m.keys = append(m.keys, gateway.BootstrapKey{APIKey: a.key, Secret: string(a.secret), Account: a.id})
	}
	t.Cleanup(func() {
		if err := m.close(); err != nil {
			t.Errorf("close mesh: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := m.start(ctx, false); err != nil {
		t.Fatal(err)
	}
	return m
}

// closedPort is a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

func readJournal(t *testing.T, path string) []journalLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []journalLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l journalLine
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.DisallowUnknownFields()
		if err := d.Decode(&l); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A short run against an in-process mesh where one target is a closed port from the start
// and another region's gateway is closed mid-run: every request still gets a definite answer
// (resent to a live region), the journal has one parseable line per request, the histograms
// hold every definite answer, and every acknowledged order is found in the mesh.
func TestLoadLosesNothingWhenRegionsRefuse(t *testing.T) {
	accounts := demoAccounts(3)
	m := startMesh(t, accounts)
	o := testOptions(t)
	o.warmup = 0 // every request measured: the histograms must hold every definite answer
	targets := m.targets()
	dead := targets[2]
	targets[2].url = closedPort(t) // ap-south's target refuses connections
	l := newLoader(o, targets, accounts, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer l.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := l.setupSymbols(ctx); err != nil {
		t.Fatal(err)
	}
	l.targets[2].base = dead.url // authenticate against the real gateway first
	if err := l.awaitAuth(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	l.targets[2].base = targets[2].url
	raw, err := openRaw(ctx, m.nodes[0].ClientURL(), 3, o.rawSize, o.rawRate)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := raw.close(); err != nil {
			t.Error(err)
		}
	}()
	// Close us-east's gateway once a quarter of the requests were sent.
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for l.seq.Load() < int64(o.rate*o.duration.Seconds()/4) {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		_ = m.gws[0].Close()
	}()
	res, err := l.load(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	<-killed
	lines := readJournal(t, o.journal)
	if int64(len(lines)) != res.Scheduled || res.Scheduled != int64(o.rate*o.duration.Seconds()) {
		t.Fatalf("journal has %d lines, scheduled %d", len(lines), res.Scheduled)
	}
	tot, _ := find(res.Rows, all, all, all)
	if tot.Unknown != 0 || tot.Failed != 0 {
		t.Fatalf("requests without a definite answer: %+v", tot)
	}
	if res.Resends == 0 {
		t.Fatal("no request was resent although one target refuses connections")
	}
	results := map[string]int64{}
	acked := map[string]journalLine{}
	for _, jl := range lines {
		results[jl.Result]++
		if jl.Region == "ap-south" {
			t.Fatalf("answer from the closed target: %+v", jl)
		}
		if jl.Result == resultAck && jl.Op != "cancel" {
			if _, dup := acked[jl.ClientOrderID]; dup {
				t.Fatalf("client order id %s acknowledged twice", jl.ClientOrderID)
			}
			acked[jl.ClientOrderID] = jl
		}
		if jl.Result == resultRejected && !benign(strconv.Itoa(jl.Code)) {
			t.Errorf("unexpected rejection %+v", jl)
		}
	}
	if results[resultAck] < res.Scheduled/2 {
		t.Fatalf("only %d of %d requests acknowledged: %v", results[resultAck], res.Scheduled, results)
	}
	if tot.Measured != results[resultAck]+results[resultRejected] || tot.Ack != results[resultAck] {
		t.Fatalf("histograms hold %d answers (%d acks), journal has %v", tot.Measured, tot.Ack, results)
	}
	var perRow int64
	for _, r := range res.Rows {
		if r.Region != all && r.Transport == all {
			perRow += r.Measured
		}
	}
	if perRow != tot.Measured {
		t.Fatalf("per-region rows hold %d, total %d", perRow, tot.Measured)
	}
	if res.Raw == nil || res.Raw.Measured == 0 || res.Ratios == nil || res.Ratios.AckP50 == 0 {
		t.Fatalf("no raw baseline or ratios: %+v %+v", res.Raw, res.Ratios)
	}
	// Every acknowledged order exists in the mesh (eu-west's replica; any state).
	live := l.targets[1]
	keys := map[uint64]account{}
	for _, a := range l.accounts {
		keys[a.id] = a
	}
	for cid, jl := range acked {
		a, ok := keys[jl.Account]
		if !ok || jl.Attempts < 1 {
			t.Fatalf("journal line without its account or attempts: %+v", jl)
		}
		var ans answer
		found := func() bool {
			q := []param{{"symbol", jl.Symbol}, {"origClientOrderId", cid}}
			ans = live.rest(ctx, http.MethodGet, "/api/v3/order", restBody(a.secret, q, time.Now().UnixMilli(), 30000), a.key)
			return ans.err == nil && ans.status == http.StatusOK
		}
		if err := pollFor(ctx, 30*time.Second, found); err != nil {
			t.Fatalf("acknowledged %s %s not found: %+v", jl.Op, cid, ans)
		}
		if jl.OrderID != 0 && ans.orderID != jl.OrderID {
			t.Fatalf("%s: journal orderId %d, mesh %d", cid, jl.OrderID, ans.orderID)
		}
	}
}

// pollFor calls cond every 50 ms until it returns true or timeout passes.
func pollFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !cond() {
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return errors.New("condition not met before the deadline")
		}
	}
	return nil
}
