package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/geomesh/geomesh/proto"
)

// gatewayMetrics are the client-facing metrics of client-compat.md §D (prefix geomesh_). They
// are registered in Config.Registerer, normally the node's registry, which regiond serves at
// /metrics on the admin listener. Labels are bounded: routes are patterns, never raw URLs.
type gatewayMetrics struct {
	requests    *prometheus.CounterVec   // route, method, code
	duration    *prometheus.HistogramVec // route, method
	apiErrors   *prometheus.CounterVec   // route, binance_code
	orders      *prometheus.CounterVec   // type, side, result
	roundtrip   *prometheus.HistogramVec // ingress_region, home_region
	forwarded   *prometheus.CounterVec   // from_region, to_region
	authFails   *prometheus.CounterVec   // reason
	rateLimited *prometheus.CounterVec   // limiter, action
	wsConns     *prometheus.GaugeVec     // kind, region
	wsSent      *prometheus.CounterVec   // kind
	wsSlow      *prometheus.CounterVec   // kind
	wsShutdown  prometheus.Counter
}

var latencyBuckets = prometheus.ExponentialBuckets(0.00005, 2, 18) // 50 µs .. ~6.5 s

func newGatewayMetrics(g *Gateway, r prometheus.Registerer) *gatewayMetrics {
	m := &gatewayMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_http_requests_total",
			Help: "REST requests by route pattern, method and HTTP status."}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "geomesh_http_request_duration_seconds",
			Help: "REST request duration by route pattern and method.", Buckets: latencyBuckets,
			NativeHistogramBucketFactor: 1.1}, []string{"route", "method"}),
		apiErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_api_errors_total",
			Help: "Binance error answers by route pattern and error code."}, []string{"route", "binance_code"}),
		orders: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_orders_total",
			Help: "New orders by type, side and result (accepted, rejected, unknown)."}, []string{"type", "side", "result"}),
		roundtrip: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "geomesh_order_roundtrip_seconds",
			Help:    "From the ingress gateway to the answer: the durable append (ACK) or the matcher's (RESULT, FULL).",
			Buckets: latencyBuckets, NativeHistogramBucketFactor: 1.1}, []string{"ingress_region", "home_region"}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_order_forwarded_total",
			Help: "Commands sent from this ingress region to a symbol homed elsewhere."}, []string{"from_region", "to_region"}),
		authFails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_auth_failures_total",
			Help: "Refused authentications by reason (signature, timestamp, api_key, permission)."}, []string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_rate_limited_total",
			Help: "Requests refused by a limit (REQUEST_WEIGHT, ORDERS, RAW_REQUESTS) and the answer (429, 418)."},
			[]string{"limiter", "action"}),
		wsConns: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "geomesh_ws_connections",
			Help: "Open WebSocket connections by kind (market, user, api)."}, []string{"kind", "region"}),
		wsSent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_ws_messages_sent_total",
			Help: "WebSocket frames written, by connection kind."}, []string{"kind"}),
		wsSlow: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_ws_slow_consumer_disconnects_total",
			Help: "WebSocket clients disconnected because they could not keep up."}, []string{"kind"}),
		wsShutdown: prometheus.NewCounter(prometheus.CounterOpts{Name: "geomesh_ws_server_shutdown_sent_total",
			Help: "serverShutdown events sent while draining."}),
	}
	r.MustRegister(m.requests, m.duration, m.apiErrors, m.orders, m.roundtrip, m.forwarded, m.authFails,
		m.rateLimited, m.wsConns, m.wsSent, m.wsSlow, m.wsShutdown, &replicaCollector{g: g})
	return m
}

// observeOrder counts a new order's outcome: accepted (including ACKed), rejected (by the
// gateway's checks or the matcher), unknown (-1007) or failed (certainly not placed: busy).
func (m *gatewayMetrics) observeOrder(no *proto.NewOrder, aerr *apiError) {
	result := "accepted"
	switch {
	case aerr == nil:
	case aerr == errTimeout:
		result = "unknown"
	case aerr.status >= 500:
		result = "failed"
	default:
		result = "rejected"
	}
	typ, side := "UNKNOWN", "UNKNOWN"
	if no != nil {
		typ, side = typeName(no.Type), sideName(no.Side)
	}
	m.orders.WithLabelValues(typ, side, result).Inc()
}

// observeRoundtrip records one command's time from ingress to answer.
func (m *gatewayMetrics) observeRoundtrip(ingress string, s *symbol, d time.Duration) {
	home := "unknown"
	if rec := s.record(); rec != nil {
		home = rec.HomeRegion
	}
	m.roundtrip.WithLabelValues(ingress, home).Observe(d.Seconds())
	if home != ingress {
		m.forwarded.WithLabelValues(ingress, home).Inc()
	}
}

// statusRecorder remembers the status and Binance error code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	code   int // Binance error code, 0 when none
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// instrument counts and times one REST request under its route pattern.
func (m *gatewayMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if _, path, ok := strings.Cut(route, " "); ok {
			route = path
		}
		if route == "" || route == "/" {
			route = "other"
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		if rec.code != 0 {
			m.apiErrors.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
		}
	})
}

// authReason names an authentication failure for geomesh_auth_failures_total.
func authReason(aerr *apiError) string {
	switch aerr {
	case errSignature:
		return "signature"
	case errKeyFormat:
		return "api_key"
	}
	switch aerr.code {
	case -1021:
		return "timestamp"
	case -2015:
		return "api_key"
	case -1102:
		return "signature" // missing signature
	}
	return "other"
}

// replicaCollector reports, when scraped, what the replicas and WebSocket hub hold.
type replicaCollector struct{ g *Gateway }

var (
	descDepthGaps = prometheus.NewDesc("geomesh_depth_sequence_gaps_total",
		"Depth update ids that skipped ahead in a replica (should stay 0).", []string{"symbol"}, nil)
	descListenKeys = prometheus.NewDesc("geomesh_listen_keys",
		"User-data streams (listen keys) open on this gateway's WebSocket connections.", nil, nil)
	descWSSubs = prometheus.NewDesc("geomesh_ws_subscriptions",
		"Market stream subscriptions on this gateway's WebSocket connections.", []string{"kind"}, nil)
)

func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDepthGaps
	ch <- descListenKeys
	ch <- descWSSubs
}

func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.g.reg.all() {
		ch <- prometheus.MustNewConstMetric(descDepthGaps, prometheus.CounterValue, float64(s.book.depthGaps.Load()), s.name)
	}
	users, subs := c.g.streams.counts()
	ch <- prometheus.MustNewConstMetric(descListenKeys, prometheus.GaugeValue, float64(users))
	ch <- prometheus.MustNewConstMetric(descWSSubs, prometheus.GaugeValue, float64(subs), "market")
}
