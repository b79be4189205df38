package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/proto"
)

// Errors of Submit. They tell a client what it may assume:
var (
	// ErrUnavailable: the command was certainly not appended (nobody accepted it); retry.
	ErrUnavailable = errors.New("client: command log unavailable, not appended")
	// ErrNoQuorum: this region is on the minority side of a partition; nothing was appended.
	ErrNoQuorum = errors.New("client: no quorum in this region, not appended")
	// ErrOutcomeUnknown: the command may have been appended (and will then be executed); find
	// out with its request id later. Binance clients get -1007 for it.
	ErrOutcomeUnknown = errors.New("client: outcome unknown")
)

// Wait says how long Submit waits.
type Wait int

const (
	// WaitAck returns once the command is durably appended (Binance newOrderRespType ACK).
	WaitAck Wait = iota
	// WaitResult returns once the matcher's events for the command exist (RESULT, FULL).
	WaitResult
)

// Result of Submit: the command's log sequence and, with WaitResult, the matcher's answer.
type Result struct {
	Seq       uint64
	Duplicate bool // a retry of a request id the log already holds
	Answer    *proto.CommandResult
}

// SubmitterConfig configures a Submitter.
type SubmitterConfig struct {
	// AppendTimeout bounds the append including retries across a stream leader election.
	AppendTimeout time.Duration
	// Quorum, when set, is asked before every append; false fails at once with ErrNoQuorum.
	Quorum func() bool
}

// Submitter appends client commands to CMD_<S> with the request id as dedupe id (Nats-Msg-Id)
// and awaits the matcher's answer: directly from the matcher on a private inbox, or, when the
// answer does not come (a failover replays silently), from EVT_<S> at the command's sequence.
// It works over any NATS connection: the gateway's in-process one or a remote process's.
type Submitter struct {
	cfg SubmitterConfig
	nc  *nats.Conn
	js  jetstream.JetStream

	inbox string
	sub   *nats.Subscription

	mu      sync.Mutex
	waiters map[string]chan *proto.CommandResult
	streams map[string]jetstream.Stream
}

// NewSubmitter subscribes the answer inbox on nc. Close unsubscribes.
func NewSubmitter(nc *nats.Conn, cfg SubmitterConfig) (*Submitter, error) {
	if cfg.AppendTimeout == 0 {
		cfg.AppendTimeout = 12 * time.Second
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s := &Submitter{cfg: cfg, nc: nc, js: js, inbox: nc.NewRespInbox(),
		waiters: map[string]chan *proto.CommandResult{}, streams: map[string]jetstream.Stream{}}
	s.sub, err = nc.Subscribe(s.inbox, s.onAnswer)
	if err != nil {
		return nil, fmt.Errorf("subscribe answers: %w", err)
	}
	return s, nil
}

// Close stops receiving answers.
func (s *Submitter) Close() error { return s.sub.Unsubscribe() }

func (s *Submitter) onAnswer(m *nats.Msg) {
	res := &proto.CommandResult{}
	if err := gproto.Unmarshal(m.Data, res); err != nil {
		return
	}
	s.mu.Lock()
	ch := s.waiters[res.RequestId]
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- res:
		default:
		}
	}
}

// Submit appends cmd (its RequestId must be set; it is the dedupe id) and waits as asked.
func (s *Submitter) Submit(ctx context.Context, cmd *proto.Command, wait Wait) (*Result, error) {
	if cmd.RequestId == "" {
		return nil, fmt.Errorf("submit: %w: request id is required", proto.ErrInvalid)
	}
	if s.cfg.Quorum != nil && !s.cfg.Quorum() {
		return nil, ErrNoQuorum
	}
	cmd.SchemaVersion = proto.SchemaVersion
	var ch chan *proto.CommandResult
	if wait == WaitResult {
		cmd.ReplyTo = s.inbox
		ch = make(chan *proto.CommandResult, 1)
		s.mu.Lock()
		s.waiters[cmd.RequestId] = ch
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			delete(s.waiters, cmd.RequestId)
			s.mu.Unlock()
		}()
	}
	data, err := gproto.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	ack, err := s.append(ctx, cmd.Symbol, cmd.RequestId, data)
	if err != nil {
		return nil, err
	}
	res := &Result{Seq: ack.Sequence, Duplicate: ack.Duplicate}
	if wait == WaitAck {
		return res, nil
	}
	res.Answer, err = s.await(ctx, cmd.Symbol, cmd.RequestId, ack.Sequence, ch, ack.Duplicate)
	return res, err
}

// append publishes with the dedupe id until acknowledged. "No responders" (no stream leader
// reachable, e.g. during an election) means not stored; a timeout means maybe stored: both are
// retried with the same id, which the stream dedupes.
func (s *Submitter) append(ctx context.Context, symbol, id string, data []byte) (*jetstream.PubAck, error) {
	msg := nats.NewMsg(CmdSubject(symbol))
	msg.Data = data
	deadline := time.Now().Add(s.cfg.AppendTimeout)
	maybeStored := false
	var lastErr error
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		ack, err := s.js.PublishMsg(actx, msg, jetstream.WithMsgID(id), jetstream.WithRetryAttempts(0),
			jetstream.WithExpectStream(CmdStream(symbol)))
		cancel()
		if err == nil {
			return ack, nil
		}
		lastErr = err
		if !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, jetstream.ErrNoStreamResponse) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
				var apiErr *jetstream.APIError
				if errors.As(err, &apiErr) && apiErr.Code < 500 {
					return nil, fmt.Errorf("append to %s: %w", CmdStream(symbol), err)
				}
			}
			maybeStored = true
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		if s.cfg.Quorum != nil && !s.cfg.Quorum() {
			break
		}
		SleepCtx(ctx, time.Duration(min(attempt+1, 10))*25*time.Millisecond)
	}
	if maybeStored {
		return nil, fmt.Errorf("%w: append to %s: %v", ErrOutcomeUnknown, CmdStream(symbol), lastErr)
	}
	if s.cfg.Quorum != nil && !s.cfg.Quorum() {
		return nil, ErrNoQuorum
	}
	return nil, fmt.Errorf("%w: append to %s: %v", ErrUnavailable, CmdStream(symbol), lastErr)
}

// await waits for the matcher's answer to the command at seq: the direct answer, or EVT_<S>'s
// message at seq (polled). The ctx deadline ends it with ErrOutcomeUnknown: the command is in
// the log and will be executed, but we cannot say how yet.
func (s *Submitter) await(ctx context.Context, symbol, id string, seq uint64, ch chan *proto.CommandResult, dup bool) (*proto.CommandResult, error) {
	// The direct answer normally comes within milliseconds; it is missing when the command was
	// answered by a silent replay after a change of owner, so fall back to the log soon.
	poll := time.NewTimer(50 * time.Millisecond)
	if dup {
		poll.Reset(0)
	}
	defer poll.Stop()
	for {
		select {
		case res := <-ch:
			if res.CmdSeq == seq {
				return res, nil
			}
		case <-poll.C:
			if res := s.fromLog(ctx, symbol, seq); res != nil {
				return res, nil
			}
			poll.Reset(100 * time.Millisecond)
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s sequence %d appended, no result yet", ErrOutcomeUnknown, CmdStream(symbol), seq)
		}
	}
}

// fromLog reads the answer to command seq from EVT_<S>, nil when it is not there (yet).
func (s *Submitter) fromLog(ctx context.Context, symbol string, seq uint64) *proto.CommandResult {
	st, err := s.stream(ctx, EvtStream(symbol))
	if err != nil {
		return nil
	}
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	m, err := st.GetMsg(actx, seq)
	if err != nil {
		return nil
	}
	b, err := proto.DecodeEventBatch(m.Data)
	if err != nil || b.CmdSeq != seq {
		return nil
	}
	return ResultOf(b)
}

func (s *Submitter) stream(ctx context.Context, name string) (jetstream.Stream, error) {
	s.mu.Lock()
	st := s.streams[name]
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := s.js.Stream(actx, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.streams[name] = st
	s.mu.Unlock()
	return st, nil
}

// ResultOf is the direct answer to the command that produced batch.
func ResultOf(batch *proto.EventBatch) *proto.CommandResult {
	res := &proto.CommandResult{
		SchemaVersion: proto.SchemaVersion, Symbol: batch.Symbol, RequestId: batch.RequestId,
		CmdSeq: batch.CmdSeq, CmdTimeUnixNano: batch.CmdTimeUnixNano, Events: batch.Events,
		Status: proto.CommandStatus_COMMAND_STATUS_ACCEPTED,
	}
	if len(batch.Events) > 0 {
		if rj := batch.Events[0].GetRejected(); rj != nil {
			res.Status = proto.CommandStatus_COMMAND_STATUS_REJECTED
			res.RejectCode, res.RejectMsg = rj.Code, rj.Msg
		}
	}
	return res
}

// SleepCtx waits d, or until ctx ends (then false). Shared by the packages that retry.
func SleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
