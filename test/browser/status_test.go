package browser_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/geomesh/geomesh/gateway"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/region/status"
	"github.com/geomesh/geomesh/test/meshtest"
)

// chromium finds a Chromium binary, or skips (fails with GEOMESH_REQUIRE_BROWSER=1).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: run test/browser/install-chromium.sh"
	if os.Getenv("GEOMESH_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (GEOMESH_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg)
	return ""
}

// TestStatusPageInBrowser kills the region that homes BTCUSDT and checks, in headless Chromium,
// that a live gateway's /status page shows the three regions, the dead one as a major outage,
// and the open incident with its timeline.
func TestStatusPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region mesh and a browser")
	}
	exe := chromium(t)
	m := meshtest.New(t, meshtest.Options{Symbols: []region.SymbolConfig{
		region.DemoSymbol("BTCUSDT", "BTC", "USDT", "us-east", "eu-west", "ap-south"),
		region.DemoSymbol("ETHUSDT", "ETH", "USDT", "eu-west", "us-east", "ap-south"),
	}, Tune: func(c *region.Config) { c.SettleWindow = time.Second }})
	m.AwaitConverged()
	m.AwaitOwner("BTCUSDT", meshtest.HomeIs("us-east"))
	m.AwaitOwner("ETHUSDT", meshtest.HomeIs("eu-west"))

	cfg := gateway.LocalConfig()
	cfg.Region, cfg.NC, cfg.Submitter = "eu-west", m.Node("eu-west").Conn(), m.Node("eu-west").Submitter()
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := gw.Start(sctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })

	m.Kill("us-east")
	incident := ""
	m.Await("an open incident for us-east", func() error {
		res, err := http.Get(gw.URL() + "/api/v2/incidents/unresolved.json")
		if err != nil {
			return err
		}
		defer res.Body.Close()
		var doc status.IncidentsDoc
		if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
			return err
		}
		incident = ""
		for _, in := range doc.Incidents {
			if strings.HasPrefix(in.ID, "inc-us-east-") && in.Status != status.Investigating {
				incident = in.ID
			}
		}
		if incident == "" {
			return fmt.Errorf("%d unresolved incidents", len(doc.Incidents))
		}
		// The components are written apart from the incident: wait for both, so the page
		// rendered next shows one state.
		cres, err := http.Get(gw.URL() + "/api/v2/components.json")
		if err != nil {
			return err
		}
		defer cres.Body.Close()
		var comps status.ComponentsDoc
		if err := json.NewDecoder(cres.Body).Decode(&comps); err != nil {
			return err
		}
		for _, c := range comps.Components {
			if c.ID == "us-east" && c.Status == status.MajorOutage {
				return nil
			}
		}
		return fmt.Errorf("incident %s open, us-east not yet major_outage", incident)
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-gpu", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	bctx, cancelTimeout := context.WithTimeout(bctx, 40*time.Second)
	defer cancelTimeout()

	start := time.Now()
	sel := chromedp.CSS(`[data-incident="` + incident + `"]`)
	if err := chromedp.Do(bctx, chromedp.Navigate(gw.URL()+"/status"), chromedp.WaitVisible(sel)); err != nil {
		t.Fatalf("chromium: open /status: %v", err)
	}
	regions, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("[data-region]")).map(e => e.dataset.region)`))
	if err != nil {
		t.Fatalf("chromium: regions: %v", err)
	}
	// The page re-renders when the status changes: a node found by a query can be replaced
	// before its text is read ("No node with given id found"). Read again then.
	text := func(css string) string {
		t.Helper()
		for {
			s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(css)))
			if err == nil {
				return s
			}
			if bctx.Err() != nil || !strings.Contains(err.Error(), "No node with given id") {
				t.Fatalf("chromium: text of %s: %v", css, err)
			}
		}
	}
	banner := text("#page-status")
	timeline := text(`[data-incident="` + incident + `"] ol.tl`)
	usEast := text(`[data-region="us-east"] h3 .st`)
	btc := text(`[data-symbol="BTCUSDT"]`)
	t.Logf("page rendered and read in %v: regions %v, banner %q, us-east %q, BTCUSDT %q", time.Since(start).Round(time.Millisecond),
		regions, banner, usEast, btc)
	for _, r := range []string{"us-east", "eu-west", "ap-south"} {
		if !strings.Contains(strings.Join(regions, " "), r) {
			t.Errorf("page shows regions %v, missing %s", regions, r)
		}
	}
	if !strings.Contains(banner, "Outage") {
		t.Errorf("banner %q", banner)
	}
	if !strings.Contains(strings.ToLower(usEast), "major outage") {
		t.Errorf("us-east shows %q, want major outage", usEast)
	}
	if !strings.Contains(strings.ToLower(timeline), "investigating") || !strings.Contains(strings.ToLower(timeline), "identified") {
		t.Errorf("incident timeline %q", timeline)
	}
	if !strings.Contains(btc, "BTCUSDT") {
		t.Errorf("BTCUSDT shown as %q", btc)
	}
}
