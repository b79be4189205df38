package region

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// runner is the matcher of one symbol on its owner node: one goroutine applies CMD_<S> in order
// and appends one EventBatch per command to EVT_<S>, fenced by Nats-Expected-Last-Sequence so
// that EVT sequence n is always the result of CMD sequence n, whoever computes it.
type runner struct {
	n   *Node
	sym string
	log *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	ended  atomic.Bool

	curEpoch  atomic.Uint64
	applied   atomic.Uint64 // last command applied
	phase     atomic.Uint32 // matcher.Phase of the book
	caughtUp  atomic.Bool
	snapshots sync.WaitGroup
	snapBusy  atomic.Bool
	// for metrics (region/metrics.go): CMD_<S> messages not yet delivered, the last command
	// whose events are in EVT_<S>, the last command covered by a snapshot.
	cmdPending, evtWritten, snapAt atomic.Uint64

	// owned by the runner goroutine
	book       *matcher.Book
	lastSnapAt uint64
	lastSnapT  time.Time
	evtDone    uint64          // last command whose events are in EVT_<S>
	window     []inflight      // applied commands whose EVT_<S> appends are in flight, in order
	phaseAsked map[uint64]bool // epochs whose phase this runner already asked for
	settling   map[uint64]bool // epochs whose settle (SetPhase TRADING) is in the log
}

func newRunner(n *Node, sym string) *runner {
	return &runner{n: n, sym: sym, log: n.log.With(slog.String("symbol", sym)), done: make(chan struct{}),
		phaseAsked: map[uint64]bool{}, settling: map[uint64]bool{}}
}

func (r *runner) epoch() uint64  { return r.curEpoch.Load() }
func (r *runner) finished() bool { return r.ended.Load() }

func (r *runner) stop() {
	if r.cancel != nil {
		r.cancel()
	}
	<-r.done
}

// run matches until ctx ends (r.cancel, set by the host before run starts, ends it) or the
// runner cannot go on.
func (r *runner) run(ctx context.Context) {
	defer func() {
		if r.cancel != nil {
			r.cancel()
		}
		r.snapshots.Wait()
		r.ended.Store(true)
		close(r.done)
	}()
	err := r.serve(ctx)
	if rec := r.n.cache.get(r.sym); rec != nil && rec.HomeRegion != r.n.cfg.Region {
		r.releaseSnapshot() // the symbol moved away: leave the book for the next owner
	}
	switch {
	case ctx.Err() != nil:
		r.log.Info("matcher_stopped")
	case errors.Is(err, errStale):
		r.log.Warn("matcher_fenced", slog.Any("err", err))
	default:
		r.log.Warn("matcher_failed", slog.Any("err", err))
	}
}

// serve restores, replays silently what EVT_<S> already reflects, then matches until ctx ends or
// the runner can no longer append.
func (r *runner) serve(ctx context.Context) error {
	rec := r.n.cache.get(r.sym)
	if rec == nil || rec.HomeRegion != r.n.cfg.Region {
		return fmt.Errorf("%s is not homed here", r.sym)
	}
	r.curEpoch.Store(rec.Epoch)
	if err := r.n.streams.ensureSymbol(ctx, r.sym); err != nil {
		return err
	}
	spec, err := specFromProto(rec.Spec)
	if err != nil {
		return fmt.Errorf("spec of %s: %w", r.sym, err)
	}
	evtLast, err := r.streamLastSeq(ctx, client.EvtStream(r.sym))
	if err != nil {
		return err
	}
	// A planned move: the previous owner leaves a release snapshot covering every command whose
	// events are in EVT_<S> (it stopped appending when the record changed). Waiting a moment for
	// it saves replaying the log since its last periodic snapshot, which is most of the pause.
	var wantSeq uint64
	if isPlanReason(rec.Reason) {
		wantSeq = evtLast
	}
	from, err := r.restore(ctx, spec, wantSeq)
	if err != nil {
		return err
	}
	cmdLast, err := r.streamLastSeq(ctx, client.CmdStream(r.sym))
	if err != nil {
		return err
	}
	if evtLast > cmdLast {
		return fmt.Errorf("EVT_%s has %d messages but CMD_%s only %d", r.sym, evtLast, r.sym, cmdLast)
	}
	r.log.Info("matcher_starting", slog.Uint64("epoch", rec.Epoch), slog.Uint64("snapshot_seq", from),
		slog.Uint64("evt_last", evtLast), slog.Uint64("cmd_last", cmdLast))

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.control(ctx)
	}()

	r.placeLeaders(ctx)
	if !r.stillHome() {
		return fmt.Errorf("%w: %s moved while the matcher started", errStale, r.sym)
	}
	cons, err := r.n.js.OrderedConsumer(ctx, client.CmdStream(r.sym), jetstream.OrderedConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from + 1,
		InactiveThreshold: 5 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("consume %s: %w", client.CmdStream(r.sym), err)
	}
	// The first pull request can reach the server before the new consumer runs there, and is
	// then lost: the consumer stays silent until two heartbeats are missed and the ordered
	// consumer re-creates itself (measured: the first command of a new owner delivered after
	// 10 s with the default 5 s heartbeat). 1 s heartbeats bound that to 2 s; shorter ones are
	// missed on a loaded machine and re-create consumers for nothing.
	it, err := cons.Messages(jetstream.PullMaxMessages(512), jetstream.PullHeartbeat(cmdHeartbeat))
	if err != nil {
		return fmt.Errorf("consume %s: %w", client.CmdStream(r.sym), err)
	}
	defer it.Stop()
	go func() { <-ctx.Done(); it.Stop() }()

	if cmdLast <= from {
		r.onCaughtUp(ctx)
	}
	// A reader goroutine hands the commands over, so that this loop can wait for the next
	// command and for the oldest EVT append's ack at once: acks are finished (evtDone, fan-out)
	// as they come, without stopping to drain the pipeline whenever the command log is idle for
	// a moment, which used to cost one R3 round trip per command at moderate load.
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	cmds := make(chan delivered, 64)
	wg.Go(func() { readCommands(rctx, it, cmds) })
	late := time.NewTimer(time.Hour)
	defer late.Stop()
	var timed uint64 // the command whose append late times (set again only when the head changes)
	next := from + 1
	for {
		var okc <-chan *jetstream.PubAck
		var errc <-chan error
		var latec <-chan time.Time
		if len(r.window) > 0 && pending(r.window[0].ack) {
			head := r.window[0]
			okc, errc = head.ack.Ok(), head.ack.Err()
			if head.batch.CmdSeq != timed {
				timed = head.batch.CmdSeq
				late.Reset(time.Until(head.sent.Add(min(evtAckWait, r.n.cfg.AppendTimeout))))
			}
			latec = late.C
		}
		var d delivered
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-okc:
			r.window[0].ack = okFuture{r.window[0].ack}
		case err := <-errc:
			r.window[0].ack = errFuture{r.window[0].ack, err}
		case <-latec:
			// An ack normally comes within milliseconds; one that takes longer was most likely
			// lost with a leader change: finishHead redoes it synchronously, which retries and
			// tells an append already stored from a refused one, faster than waiting it out.
			r.window[0].ack = errFuture{r.window[0].ack, errAckLate}
		case d = <-cmds:
		}
		if d.msg == nil && d.err == nil {
			if err := r.finishDone(ctx); err != nil {
				return err
			}
			continue
		}
		if d.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("next command: %w", d.err)
		}
		msg := d.msg
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("command metadata: %w", err)
		}
		if age := time.Since(meta.Timestamp); age > time.Second && r.caughtUp.Load() {
			// A caught-up matcher normally sees a command within milliseconds of its append.
			r.log.Debug("command_late", slog.Uint64("seq", meta.Sequence.Stream), slog.Duration("age", age),
				slog.Uint64("pending", meta.NumPending), slog.Int("in_flight", len(r.window)))
		}
		seq := meta.Sequence.Stream
		if seq < next {
			continue
		}
		if seq > next {
			return fmt.Errorf("gap in %s: want %d, got %d", client.CmdStream(r.sym), next, seq)
		}
		if cur := r.n.cache.get(r.sym); cur != nil {
			if cur.HomeRegion != r.n.cfg.Region {
				return fmt.Errorf("%w: %s moved to %s (epoch %d)", errStale, r.sym, cur.HomeRegion, cur.Epoch)
			}
			r.curEpoch.Store(cur.Epoch)
		}
		pc, evs := r.apply(msg.Data(), seq, meta.Timestamp.UnixNano())
		r.applied.Store(seq)
		r.phase.Store(uint32(r.book.Phase()))
		r.cmdPending.Store(meta.NumPending)
		if seq <= evtLast {
			r.evtDone = seq
			r.evtWritten.Store(seq)
		} else {
			batch := eventBatch(r.sym, seq, meta.Timestamp.UnixNano(), r.epoch(), pc.GetRequestId(), evs)
			// The answer goes out before the events are durable: they are a pure function of
			// CMD_<S> up to seq, which is durable, so whoever writes EVT_<S> seq (we, or the
			// next owner replaying) writes exactly this. This saves the client an R3 round trip.
			r.reply(batch, pc.GetReplyTo())
			if err := r.appendAsync(ctx, batch); err != nil {
				return err
			}
			// A snapshot must only cover commands whose events are in EVT_<S>: empty the
			// pipeline first.
			if r.snapshotDue(seq) {
				if err := r.flush(ctx); err != nil {
					return err
				}
				r.maybeSnapshot(ctx, seq, evtLast)
			}
		}
		next++
		if meta.NumPending == 0 && !r.caughtUp.Load() {
			r.onCaughtUp(ctx)
		}
	}
}

// delivered is one command (or the iterator's error) handed over by readCommands.
type delivered struct {
	msg jetstream.Msg
	err error
}

// readCommands passes the iterator's commands to out until ctx ends or the iterator fails.
func readCommands(ctx context.Context, it jetstream.MessagesContext, out chan<- delivered) {
	for {
		msg, err := it.Next()
		select {
		case out <- delivered{msg, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// placeLeaders moves the CMD_<S> and EVT_<S> stream leaders into this region before matching
// starts, and waits (at most 2 s) until they are here. Moving them later, under flow, cost a
// new owner's first commands a consumer reset: one symbol stalled 6-9 s right after placement
// in about one demo run in three. The control loop keeps checking afterwards.
func (r *runner) placeLeaders(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, s := range []string{client.CmdStream(r.sym), client.EvtStream(r.sym)} {
		for ctx.Err() == nil {
			if !r.stillHome() {
				return // a stale record started us: never pull leaders to a region that lost the symbol
			}
			err := stepDownTo(ctx, r.n.nc, r.n.js, s, r.n.cfg.Region, r.n.regionOfServer)
			if err == nil && r.leaderHere(ctx, s) {
				break
			}
			sleepCtx(ctx, 50*time.Millisecond)
		}
	}
}

// stillHome reports whether the ownership cache still names this region the symbol's home.
func (r *runner) stillHome() bool {
	rec := r.n.cache.get(r.sym)
	return rec != nil && rec.HomeRegion == r.n.cfg.Region
}

// leaderHere reports whether stream's leader is a server of this region.
func (r *runner) leaderHere(ctx context.Context, stream string) bool {
	st, err := r.n.js.Stream(ctx, stream)
	if err != nil {
		return false
	}
	info, err := st.Info(ctx)
	return err == nil && info.Cluster != nil && r.n.regionOfServer(info.Cluster.Leader) == r.n.cfg.Region
}

// apply decodes and applies one command. An entry that does not decode is still answered, with a
// rejection: every replica decodes the same bytes the same way, so this stays deterministic.
func (r *runner) apply(data []byte, seq uint64, timeNs int64) (*proto.Command, []matcher.Event) {
	pc, err := proto.DecodeCommand(data)
	if err == nil {
		var mc matcher.Command
		mc, err = commandToMatcher(pc, seq, timeNs)
		if err == nil {
			return pc, r.book.Apply(&mc)
		}
	}
	return pc, []matcher.Event{{Kind: matcher.EvRejected, Code: -1100, Msg: "Illegal characters found in a parameter."}}
}

// restore loads the newest snapshot of the symbol, or starts an empty book. It returns the last
// command sequence the book reflects.
func (r *runner) restore(ctx context.Context, spec matcher.Spec, wantSeq uint64) (uint64, error) {
	var env *proto.SnapshotEnvelope
	var err error
	// A release snapshot being written replaces the object: reads can fail while it does, so
	// poll with short attempts until it is there (or give up and take what there is).
	for deadline := time.Now().Add(time.Second); wantSeq > 0 && time.Now().Before(deadline); {
		actx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		env, err = loadSnapshotOnce(actx, r.n.js, r.sym)
		cancel()
		if err == nil && env != nil && env.LastCmdSeq >= wantSeq {
			break
		}
		env = nil
		if !sleepCtx(ctx, 10*time.Millisecond) {
			return 0, ctx.Err()
		}
	}
	if env == nil {
		if env, err = loadSnapshot(ctx, r.n.js, r.sym); err != nil {
			return 0, err
		}
	}
	if env == nil {
		b, err := matcher.NewBook(spec)
		if err != nil {
			return 0, fmt.Errorf("new book %s: %w", r.sym, err)
		}
		r.book = b
		return 0, nil
	}
	b, err := matcher.Restore(env.State)
	if err != nil {
		return 0, fmt.Errorf("restore %s at %d: %w", r.sym, env.LastCmdSeq, err)
	}
	r.book = b
	r.lastSnapAt = env.LastCmdSeq
	r.snapAt.Store(env.LastCmdSeq)
	r.applied.Store(env.LastCmdSeq)
	return env.LastCmdSeq, nil
}

func (r *runner) streamLastSeq(ctx context.Context, name string) (uint64, error) {
	var last uint64
	err := withRetry(ctx, "info "+name, func(ctx context.Context) error {
		s, err := r.n.js.Stream(ctx, name)
		if err != nil {
			return err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		last = info.State.LastSeq
		return nil
	})
	return last, err
}

// appendEvents appends batch as EVT_<S> sequence batch.CmdSeq, expecting the stream to end at
// CmdSeq-1. A "wrong last sequence" means the message is already there: ours (an earlier attempt
// whose ack was lost) or another owner's. Another owner with a newer epoch fences us.
func (r *runner) appendEvents(ctx context.Context, batch *proto.EventBatch) error {
	data, err := gproto.Marshal(batch)
	if err != nil {
		return err
	}
	seq := batch.CmdSeq
	msg := nats.NewMsg(client.EvtSubject(r.sym))
	msg.Data = data
	msg.Header.Set(client.HeaderCmdSeq, strconv.FormatUint(seq, 10))
	deadline := time.Now().Add(r.n.cfg.AppendTimeout)
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := r.n.js.PublishMsg(actx, msg, jetstream.WithExpectLastSequence(seq-1), jetstream.WithRetryAttempts(0))
		cancel()
		if err == nil {
			return nil
		}
		if isWrongLastSeq(err) {
			return r.checkFence(ctx, batch)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("append EVT %d: lost the ability to append: %w", seq, err)
		}
		sleepCtx(ctx, time.Duration(min(attempt+1, 10))*20*time.Millisecond)
	}
}

// inflight is one command's EVT_<S> append that has been sent but not acknowledged yet.
type inflight struct {
	batch *proto.EventBatch
	ack   jetstream.PubAckFuture // nil: not sent (the pipeline broke before it)
	sent  time.Time
}

// cmdHeartbeat is the idle heartbeat of the matcher's CMD_<S> consumer (see serve).
const cmdHeartbeat = time.Second

// maxInflight bounds the EVT_<S> appends a matcher keeps in flight; evtAckWait is how long the
// oldest one's ack is awaited before the append is redone synchronously.
const (
	maxInflight = 256
	evtAckWait  = 500 * time.Millisecond
)

// appendAsync sends batch's append without waiting for it, chained on the previous one by
// Nats-Expected-Last-Sequence, so a symbol's throughput is not bounded by one R3 round trip per
// command. The stream applies them in order; if one fails every later one fails its expected
// sequence too, and finishHead falls back to appendEvents for each, in order. Acknowledged
// appends are finished (evtDone, fan-out) in order as they come.
func (r *runner) appendAsync(ctx context.Context, batch *proto.EventBatch) error {
	in := inflight{batch: batch, sent: time.Now()}
	if len(r.window) == 0 || r.window[len(r.window)-1].ack != nil {
		if data, err := gproto.Marshal(batch); err == nil {
			msg := nats.NewMsg(client.EvtSubject(r.sym))
			msg.Data = data
			msg.Header.Set(client.HeaderCmdSeq, strconv.FormatUint(batch.CmdSeq, 10))
			in.ack, _ = r.n.js.PublishMsgAsync(msg, jetstream.WithExpectLastSequence(batch.CmdSeq-1))
		}
	}
	r.window = append(r.window, in)
	for len(r.window) > 0 {
		if len(r.window) <= maxInflight && !r.headDone() {
			return nil // the head is still in flight: carry on matching
		}
		if err := r.finishHead(ctx); err != nil {
			return err
		}
	}
	return nil
}

// headDone reports, without waiting, whether the oldest append in flight has its outcome. A
// future's channels deliver the outcome once, so what is received here is kept in the window
// (okFuture, errFuture) for finishHead.
func (r *runner) headDone() bool {
	head := r.window[0]
	if !pending(head.ack) {
		return true
	}
	select {
	case <-head.ack.Ok():
		r.window[0].ack = okFuture{head.ack}
		return true
	case err := <-head.ack.Err():
		r.window[0].ack = errFuture{head.ack, err}
		return true
	default:
		return false
	}
}

// okFuture and errFuture stand for a future whose outcome was already received (by headDone
// or serve's loop).
type (
	okFuture struct {
		jetstream.PubAckFuture
	}
	errFuture struct {
		jetstream.PubAckFuture
		err error
	}
)

// errAckLate marks an append whose ack did not come within evtAckWait.
var errAckLate = errors.New("EVT append not acknowledged in time")

// pending: f was sent and its outcome not received yet.
func pending(f jetstream.PubAckFuture) bool {
	switch f.(type) {
	case nil, okFuture, errFuture:
		return false
	}
	return true
}

// finishDone finishes, in order, the appends in flight whose outcome is known.
func (r *runner) finishDone(ctx context.Context) error {
	for len(r.window) > 0 && r.headDone() {
		if err := r.finishHead(ctx); err != nil {
			return err
		}
	}
	return nil
}

// flush waits until every append in flight is finished.
func (r *runner) flush(ctx context.Context) error {
	for len(r.window) > 0 {
		if err := r.finishHead(ctx); err != nil {
			return err
		}
	}
	return nil
}

// finishHead waits for the oldest append in flight (at most evtAckWait), or redoes it with
// appendEvents when it failed, timed out or was never sent; then records and fans it out.
func (r *runner) finishHead(ctx context.Context) error {
	head := r.window[0]
	ok := false
	switch f := head.ack.(type) {
	case nil:
	case okFuture:
		ok = true
	case errFuture:
		r.log.Debug("evt_append_failed", slog.Uint64("seq", head.batch.CmdSeq), slog.Any("err", f.err))
	default:
		// An ack normally comes within milliseconds; one that takes longer was most likely lost
		// with a leader change, and the synchronous path below finds out (it retries, and
		// tells an append already stored from a refused one) faster than waiting it out.
		t := time.NewTimer(min(evtAckWait, r.n.cfg.AppendTimeout))
		select {
		case <-f.Ok():
			ok = true
		case err := <-f.Err():
			r.log.Debug("evt_append_failed", slog.Uint64("seq", head.batch.CmdSeq), slog.Any("err", err))
		case <-t.C:
			r.log.Debug("evt_append_ack_late", slog.Uint64("seq", head.batch.CmdSeq), slog.Int("in_flight", len(r.window)))
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
	if !ok {
		// The pipeline broke here (an election, a lost ack, or a fence): the appends after
		// this one failed their expected sequence as well; redo each in order, synchronously.
		for i := range r.window {
			r.window[i].ack = nil
		}
		if err := r.appendEvents(ctx, head.batch); err != nil {
			return err
		}
	}
	r.n.metrics.evtAppend.Observe(time.Since(head.sent).Seconds())
	seq := head.batch.CmdSeq
	r.window[0] = inflight{}
	r.window = r.window[1:]
	if len(r.window) == 0 {
		r.window = nil
	}
	r.evtDone = seq
	r.evtWritten.Store(seq)
	r.fanOut(head.batch)
	return nil
}

// checkFence decides, after a wrong-last-sequence append, whether we are stale.
func (r *runner) checkFence(ctx context.Context, batch *proto.EventBatch) error {
	s, err := r.n.js.Stream(ctx, client.EvtStream(r.sym))
	if err != nil {
		return err
	}
	// Direct gets may be answered by a replica a moment behind the leader that refused us.
	got, err := s.GetMsg(ctx, batch.CmdSeq)
	for i := 0; err != nil && errors.Is(err, jetstream.ErrMsgNotFound) && i < 10; i++ {
		sleepCtx(ctx, 20*time.Millisecond)
		got, err = s.GetMsg(ctx, batch.CmdSeq)
	}
	if err != nil {
		return fmt.Errorf("%w: EVT_%s does not end at %d and has no message %d: %v", errStale, r.sym, batch.CmdSeq-1, batch.CmdSeq, err)
	}
	other, err := proto.DecodeEventBatch(got.Data)
	if err != nil {
		return fmt.Errorf("EVT_%s %d: %w", r.sym, batch.CmdSeq, err)
	}
	if other.Epoch > batch.Epoch {
		return fmt.Errorf("%w: EVT_%s %d written at epoch %d, ours is %d", errStale, r.sym, batch.CmdSeq, other.Epoch, batch.Epoch)
	}
	// Our own earlier attempt landed, or the previous owner was still finishing when we took
	// over: the matcher is deterministic, so its events for this command are ours too.
	return nil
}

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// reply sends the direct answer to the submitter waiting on replyTo (none: nobody waits).
func (r *runner) reply(batch *proto.EventBatch, replyTo string) {
	if replyTo == "" {
		return
	}
	if b, err := gproto.Marshal(client.ResultOf(batch)); err == nil {
		_ = r.n.nc.Publish(replyTo, b)
	}
}

// fanOut publishes, after the durable EVT append, user data per account and market data. These
// subjects are not stored: a failover never shows a client the same execution twice, because
// only the owner that appended publishes. (The direct answer may come from an owner that is
// then fenced: it is the same answer, and a submitter takes one.)
func (r *runner) fanOut(batch *proto.EventBatch) {
	nc := r.n.nc
	publish := func(subject string, keep func(*proto.Event) bool) {
		if b := filterEvents(batch, keep); b != nil {
			if data, err := gproto.Marshal(b); err == nil {
				_ = nc.Publish(subject, data)
			}
		}
	}
	publish(client.TradeSubject(r.sym), func(e *proto.Event) bool { return e.GetTrade() != nil })
	publish(client.DepthSubject(r.sym), func(e *proto.Event) bool { return e.GetDepthUpdate() != nil })
	for _, acct := range accountsOfBatch(batch) {
		publish(client.UserSubject(acct), func(e *proto.Event) bool { return eventConcerns(e, acct) })
	}
}

// inSettleWindow: the record is a failover's CANCEL_ONLY settle window.
func inSettleWindow(rec *proto.OwnershipRecord) bool {
	return rec != nil && rec.Reason == ReasonFailover && rec.Phase == proto.Phase_PHASE_CANCEL_ONLY &&
		rec.SettleUntilUnixNano != 0
}

// onCaughtUp runs once the runner has applied everything in CMD_<S> that existed when it
// started: the failover policy's cancel-all, if the record asks for it, goes in now. The settle
// window cannot have ended yet: only the caught-up owner ends it (see settle).
func (r *runner) onCaughtUp(ctx context.Context) {
	r.caughtUp.Store(true)
	rec := r.n.cache.get(r.sym)
	if rec != nil && rec.Reason != ReasonPlacement && rec.UpdatedUnixNano > 0 {
		r.n.metrics.moveDuration.WithLabelValues(reasonLabel(rec.Reason)).
			Observe(time.Since(time.Unix(0, rec.UpdatedUnixNano)).Seconds())
	}
	if !inSettleWindow(rec) || rec.FailoverPolicy != proto.FailoverPolicy_FAILOVER_POLICY_CANCEL_OPEN_ORDERS {
		return
	}
	seen := map[uint64]bool{}
	var accts []uint64
	for _, o := range r.book.AllOrders(nil) {
		if !seen[o.Account] {
			seen[o.Account] = true
			accts = append(accts, o.Account)
		}
	}
	for _, a := range accts {
		id := "failover-cancel-" + r.sym + "-" + strconv.FormatUint(rec.Epoch, 10) + "-" + strconv.FormatUint(a, 10)
		cmd := &proto.Command{SchemaVersion: proto.SchemaVersion, Symbol: r.sym, RequestId: id,
			IngressRegion: r.n.cfg.Region, Body: &proto.Command_CancelAll{CancelAll: &proto.CancelAll{Account: a}}}
		if err := r.n.appendCommand(ctx, cmd); err != nil {
			r.log.Warn("failover_cancel_all_failed", slog.Uint64("account", a), slog.Any("err", err))
		}
	}
	r.log.Info("failover_canceled_open_orders", slog.Int("accounts", len(accts)), slog.Uint64("epoch", rec.Epoch))
}

// control keeps the book's phase equal to the ownership record's (through SetPhase commands in the
// log, so the phase is part of the deterministic state) and the stream leaders in the home region.
func (r *runner) control(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastLeaderCheck := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !r.caughtUp.Load() {
			continue
		}
		rec := r.n.cache.get(r.sym)
		if rec == nil || rec.HomeRegion != r.n.cfg.Region {
			continue
		}
		want, err := phases.fromProto(rec.Phase)
		if err == nil && matcher.Phase(r.phase.Load()) != want && !r.phaseAsked[rec.Epoch] {
			id := "phase-" + r.sym + "-" + strconv.FormatUint(rec.Epoch, 10)
			cmd := &proto.Command{SchemaVersion: proto.SchemaVersion, Symbol: r.sym, RequestId: id,
				IngressRegion: r.n.cfg.Region, Body: &proto.Command_SetPhase{SetPhase: &proto.SetPhase{Phase: rec.Phase, Reason: rec.Reason}}}
			if err := r.n.appendCommand(ctx, cmd); err != nil {
				r.log.Warn("set_phase_failed", slog.Any("err", err))
			} else {
				r.phaseAsked[rec.Epoch] = true
			}
		}
		// Settle once the window's CANCEL_ONLY is applied and the window is over; and again,
		// until the record says TRADING, if the log part was done but the record's was not.
		if inSettleWindow(rec) && (matcher.Phase(r.phase.Load()) == matcher.CancelOnly || r.settling[rec.Epoch]) &&
			time.Now().UnixNano() >= rec.SettleUntilUnixNano {
			r.settle(ctx, rec.Epoch)
		}
		if time.Since(lastLeaderCheck) > 2*time.Second {
			lastLeaderCheck = time.Now()
			for _, s := range []string{client.CmdStream(r.sym), client.EvtStream(r.sym)} {
				actx, cancel := context.WithTimeout(ctx, time.Second)
				if err := stepDownTo(actx, r.n.nc, r.n.js, s, r.n.cfg.Region, r.n.regionOfServer); err != nil {
					r.log.Debug("leader_placement_failed", slog.String("stream", s), slog.Any("err", err))
				}
				cancel()
			}
		}
	}
}

// releaseSnapshot leaves the book for the next owner of a moved symbol, so it restores at the
// point we stopped instead of replaying the log since the last periodic snapshot. Only a state
// whose every command has its events in EVT_<S> is saved: the next owner continues after it.
func (r *runner) releaseSnapshot() {
	if len(r.window) > 0 {
		// Stopped with appends in flight: finish them (the events are deterministic, and the
		// fencing makes a duplicate impossible) so the snapshot can cover those commands.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := r.flush(ctx)
		cancel()
		if err != nil {
			r.log.Debug("release_pending_append_failed", slog.Uint64("evt_done", r.evtDone), slog.Any("err", err))
		}
	}
	if r.book == nil || r.evtDone == 0 || r.evtDone != r.applied.Load() || r.evtDone == r.lastSnapAt {
		r.log.Debug("release_snapshot_skipped", slog.Uint64("evt_done", r.evtDone),
			slog.Uint64("applied", r.applied.Load()), slog.Uint64("last_snapshot", r.lastSnapAt))
		return
	}
	r.snapshots.Wait()
	state := r.book.Snapshot()
	sum := sha256.Sum256(state)
	env := &proto.SnapshotEnvelope{SchemaVersion: proto.SchemaVersion, Symbol: r.sym, Epoch: r.epoch(),
		LastCmdSeq: r.evtDone, LastEvtSeq: r.evtDone, MatcherFormatVersion: snapshotFormat(state),
		State: state, StateSha256: sum[:]}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := saveSnapshot(ctx, r.n.js, env); err != nil {
		r.log.Warn("release_snapshot_failed", slog.Any("err", err))
		return
	}
	r.log.Info("release_snapshot", slog.Uint64("seq", r.evtDone))
}

// snapshotDue: SnapshotEvery commands or SnapshotInterval passed since the last snapshot.
func (r *runner) snapshotDue(seq uint64) bool {
	cfg := r.n.cfg
	return seq-r.lastSnapAt >= uint64(cfg.SnapshotEvery) ||
		(cfg.SnapshotInterval > 0 && time.Since(r.lastSnapT) >= cfg.SnapshotInterval && seq > r.lastSnapAt)
}

// maybeSnapshot takes a snapshot every SnapshotEvery commands or SnapshotInterval, encoding it
// in the runner goroutine (a memory copy) and uploading it in the background, so matching does
// not wait for the object store.
func (r *runner) maybeSnapshot(ctx context.Context, seq, evtLast uint64) {
	if !r.snapshotDue(seq) || r.evtDone != seq || !r.snapBusy.CompareAndSwap(false, true) {
		return
	}
	state := r.book.Snapshot()
	sum := sha256.Sum256(state)
	env := &proto.SnapshotEnvelope{
		SchemaVersion: proto.SchemaVersion, Symbol: r.sym, Epoch: r.epoch(), LastCmdSeq: seq,
		LastEvtSeq: max(seq, evtLast), MatcherFormatVersion: snapshotFormat(state), State: state,
		StateSha256: sum[:],
	}
	r.lastSnapAt, r.lastSnapT = seq, time.Now()
	r.snapshots.Add(1)
	go func() {
		defer r.snapshots.Done()
		defer r.snapBusy.Store(false)
		if err := saveSnapshot(ctx, r.n.js, env); err != nil {
			if ctx.Err() == nil {
				r.log.Warn("snapshot_failed", slog.Uint64("seq", seq), slog.Any("err", err))
				r.n.metrics.snapshots.WithLabelValues("failure").Inc()
			}
			return
		}
		r.snapAt.Store(seq)
		r.n.metrics.snapshots.WithLabelValues("success").Inc()
	}()
}

// settle ends a failover's settle window: CANCEL_ONLY -> TRADING. The owner does it, not the
// controller, because only the owner knows it has caught up with the log and applied the
// window's phase (and the policy's cancels) first; CAS on the epoch keeps it a one-time change.
func (r *runner) settle(ctx context.Context, epoch uint64) {
	// The log first: whoever sees TRADING in the record afterwards finds the book trading too.
	id := "settle-" + r.sym + "-" + strconv.FormatUint(epoch, 10)
	cmd := &proto.Command{SchemaVersion: proto.SchemaVersion, Symbol: r.sym, RequestId: id,
		IngressRegion: r.n.cfg.Region, Body: &proto.Command_SetPhase{SetPhase: &proto.SetPhase{
			Phase: proto.Phase_PHASE_TRADING, Reason: ReasonSettled}}}
	if err := r.n.appendCommand(ctx, cmd); err != nil {
		r.log.Warn("settle_failed", slog.Any("err", err))
		return
	}
	r.settling[epoch] = true
	next, err := r.n.owners.Update(ctx, r.sym, Change{
		Action: proto.AuditAction_AUDIT_ACTION_PHASE, Actor: "matcher/" + r.n.cfg.NodeID, Reason: ReasonSettled,
		Mutate: func(rec *proto.OwnershipRecord) error {
			if rec.Epoch < epoch {
				// A read from a replica behind our cache (KV gets may be answered by any
				// replica): nothing to conclude; the control loop tries again.
				return fmt.Errorf("%w: read epoch %d, the record is at %d", errReadBehind, rec.Epoch, epoch)
			}
			if rec.Epoch != epoch || rec.HomeRegion != r.n.cfg.Region {
				return ErrNoChange
			}
			rec.Phase, rec.SettleUntilUnixNano = proto.Phase_PHASE_TRADING, 0
			return nil
		},
	})
	if errors.Is(err, errReadBehind) {
		r.log.Debug("settle_retry", slog.Any("err", err))
		return
	}
	if err != nil {
		r.log.Warn("settle_failed", slog.Any("err", err))
		return
	}
	r.phaseAsked[next.Epoch] = true
	r.n.cache.put(next)
	r.log.Info("symbol_settled", slog.Uint64("epoch", next.Epoch))
}
