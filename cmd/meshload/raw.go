package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Name and subject of the baseline stream.
const (
	rawStream  = "MESHLOAD_RAW"
	rawSubject = "meshload.raw"
)

// rawBaseline measures synchronous JetStream publishes to an R3 stream placed like the CMD_
// streams (file storage, one replica per region through the servers' unique_tag): what every
// order costs at least, measured in the same run as the orders.
type rawBaseline struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	replicas int
	size     int
	rate     float64

	mu     sync.Mutex
	hist   *hdrhistogram.Histogram
	errors int64
}

// openRaw connects to url and creates the stream (deleting a leftover one of an earlier run).
func openRaw(ctx context.Context, url string, replicas, size int, rate float64) (*rawBaseline, error) {
	nc, err := nats.Connect(url, nats.Name("meshload"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("raw baseline: connect %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("raw baseline: %w", err)
	}
	b := &rawBaseline{nc: nc, js: js, replicas: replicas, size: size, rate: rate, hist: newHist()}
	cfg := jetstream.StreamConfig{Name: rawStream, Subjects: []string{rawSubject}, Replicas: replicas,
		Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy, MaxAge: time.Hour,
		Description: "meshload's raw append baseline; deleted at the end of the run"}
	err = retryUntil(ctx, 30*time.Second, func(ctx context.Context) error {
		if err := js.DeleteStream(ctx, rawStream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return err
		}
		_, err := js.CreateStream(ctx, cfg)
		return err
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("raw baseline: create stream %s (R%d): %w", rawStream, replicas, err)
	}
	return b, nil
}

// retryUntil runs op with 2 s attempts until it succeeds or total passes (a freshly formed
// cluster sometimes leaves a JetStream API request unanswered).
func retryUntil(ctx context.Context, total time.Duration, op func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		err := op(actx)
		acancel()
		if err == nil {
			return nil
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return err
		}
	}
}

// run publishes open-loop at b.rate from start until start+total, each publish synchronous
// (it waits for the stream's ack) in its own goroutine, so a slow publish does not delay the
// next one; it records the latency (from the intended time) of those due at or after
// measureFrom.
func (b *rawBaseline) run(ctx context.Context, start time.Time, total time.Duration, measureFrom time.Time) {
	msg := make([]byte, b.size)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	schedule(ctx, start, b.rate, total, rawMaxInFlight, func(_ int64, due time.Time) {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := b.js.Publish(pctx, rawSubject, msg)
		cancel()
		if due.Before(measureFrom) || ctx.Err() != nil {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if err != nil {
			b.errors++
			return
		}
		_ = b.hist.RecordValue(max(histMinUS, min(histMaxUS, time.Since(due).Microseconds())))
	})
}

// rawMaxInFlight bounds the baseline's publishes in flight.
const rawMaxInFlight = 1000

// summary is the baseline's report row.
func (b *rawBaseline) summary(window time.Duration) summary {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := newCell()
	c.hist = b.hist
	c.results[resultAck] = b.hist.TotalCount()
	c.results[resultFailed] = b.errors
	return summarize("raw", fmt.Sprintf("js_publish_R%d", b.replicas), "nats", c, window)
}

// close deletes the stream and disconnects.
func (b *rawBaseline) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := b.js.DeleteStream(ctx, rawStream)
	b.nc.Close()
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("raw baseline: delete stream %s: %w", rawStream, err)
	}
	return nil
}
