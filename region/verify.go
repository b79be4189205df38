package region

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// LogReport is what VerifyLog found.
type LogReport struct {
	Commands   uint64   // messages in CMD_<S>
	Events     uint64   // messages in EVT_<S>
	RequestIDs []string // request id of every command, in log order
	Hash       [32]byte // hash of the book replayed from scratch over the whole command log
	Epochs     []uint64 // distinct producer epochs seen in EVT_<S>, in order of appearance
}

// VerifyLog checks the central invariant of DESIGN.md on the streams of symbol: EVT_<S> has no
// gap, message n answers CMD_<S> message n (header and cmd_seq), and its events equal, field for
// field, what a matcher replaying CMD_<S> from scratch produces. EVT_<S> may lag CMD_<S> by
// commands not yet applied. spec is the symbol's spec.
func VerifyLog(ctx context.Context, js jetstream.JetStream, symbol string, spec matcher.Spec) (*LogReport, error) {
	book, err := matcher.NewBook(spec)
	if err != nil {
		return nil, err
	}
	cmds, err := readAll(ctx, js, client.CmdStream(symbol))
	if err != nil {
		return nil, err
	}
	evts, err := readAll(ctx, js, client.EvtStream(symbol))
	if err != nil {
		return nil, err
	}
	rep := &LogReport{Commands: uint64(len(cmds)), Events: uint64(len(evts))}
	if len(evts) > len(cmds) {
		return rep, fmt.Errorf("EVT_%s has %d messages, CMD_%s only %d", symbol, len(evts), symbol, len(cmds))
	}
	for i, m := range cmds {
		seq := uint64(i + 1)
		if m.seq != seq {
			return rep, fmt.Errorf("CMD_%s: message %d has sequence %d (gap)", symbol, i+1, m.seq)
		}
		pc, _ := proto.DecodeCommand(m.data)
		rep.RequestIDs = append(rep.RequestIDs, pc.GetRequestId())
		var evs []matcher.Event
		if pc != nil {
			if mc, err := commandToMatcher(pc, seq, m.time); err == nil {
				evs = book.Apply(&mc)
			}
		}
		if evs == nil {
			evs = []matcher.Event{{Kind: matcher.EvRejected, Code: -1100, Msg: "Illegal characters found in a parameter."}}
		}
		if i >= len(evts) {
			continue
		}
		e := evts[i]
		if e.seq != seq {
			return rep, fmt.Errorf("EVT_%s: message %d has sequence %d (gap)", symbol, i+1, e.seq)
		}
		got, err := proto.DecodeEventBatch(e.data)
		if err != nil {
			return rep, fmt.Errorf("EVT_%s %d: %w", symbol, seq, err)
		}
		if got.CmdSeq != seq || e.hdrSeq != fmt.Sprint(seq) {
			return rep, fmt.Errorf("EVT_%s %d answers command %d (header %q)", symbol, seq, got.CmdSeq, e.hdrSeq)
		}
		if n := len(rep.Epochs); n == 0 || rep.Epochs[n-1] != got.Epoch {
			rep.Epochs = append(rep.Epochs, got.Epoch)
		}
		want := eventBatch(symbol, seq, m.time, got.Epoch, pc.GetRequestId(), evs)
		if !gproto.Equal(want, got) {
			return rep, fmt.Errorf("EVT_%s %d differs from the replay of CMD_%s:\n got %v\nwant %v", symbol, seq, symbol, got, want)
		}
	}
	rep.Hash = book.Hash()
	return rep, nil
}

type logMsg struct {
	seq    uint64
	time   int64
	data   []byte
	hdrSeq string
}

// readAll reads every message of stream in order with an ordered consumer.
func readAll(ctx context.Context, js jetstream.JetStream, stream string) ([]logMsg, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("info %s: %w", stream, err)
	}
	last := info.State.LastSeq
	if last == 0 {
		return nil, nil
	}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{InactiveThreshold: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	out := make([]logMsg, 0, last)
	for uint64(len(out)) < last {
		batch, err := cons.Fetch(int(min(last-uint64(len(out)), 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			out = append(out, logMsg{seq: meta.Sequence.Stream, time: meta.Timestamp.UnixNano(), data: m.Data(),
				hdrSeq: m.Headers().Get(client.HeaderCmdSeq)})
		}
		if err := batch.Error(); err != nil && n == 0 {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("read %s: stalled at %d of %d", stream, len(out), last)
		}
	}
	return out, nil
}
