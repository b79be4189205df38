package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// journalLine is one line of --journal (the format is documented in doc.go and read by the
// chaos suite: keep it stable).
type journalLine struct {
	TS                string `json:"ts"` // RFC 3339, UTC, nanoseconds
	Region            string `json:"region"`
	Op                string `json:"op"`
	Symbol            string `json:"symbol"`
	ClientOrderID     string `json:"clientOrderId"`
	OrigClientOrderID string `json:"origClientOrderId,omitempty"`
	OrderID           int64  `json:"orderId"`
	Result            string `json:"result"`
	Code              int    `json:"code"`
	LatencyUS         int64  `json:"latency_us"`
	Account           uint64 `json:"account"`
	Attempts          int    `json:"attempts"`
}

// Results of a request (journal "result").
const (
	resultAck      = "ack"
	resultRejected = "rejected"
	resultUnknown  = "unknown"
	resultFailed   = "failed"
)

// journal writes journal lines; safe for concurrent use. A nil *journal writes nothing.
type journal struct {
	mu  sync.Mutex
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

func openJournal(path string) (*journal, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &journal{f: f, w: bufio.NewWriterSize(f, 1<<16)}
	j.enc = json.NewEncoder(j.w)
	return j, nil
}

// newJournalTo is a journal on w (tests).
func newJournalTo(w io.Writer) *journal {
	j := &journal{w: bufio.NewWriter(w)}
	j.enc = json.NewEncoder(j.w)
	return j
}

func (j *journal) write(l *journalLine) {
	if j == nil {
		return
	}
	j.mu.Lock()
	if err := j.enc.Encode(l); err != nil && j.err == nil {
		j.err = err
	}
	j.mu.Unlock()
}

// Close flushes and closes the file and reports the first write error.
func (j *journal) Close() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.w.Flush(); err != nil && j.err == nil {
		j.err = err
	}
	if j.f != nil {
		if err := j.f.Close(); err != nil && j.err == nil {
			j.err = err
		}
		j.f = nil
	}
	if j.err != nil {
		return fmt.Errorf("journal: %w", j.err)
	}
	return nil
}
